// agora-miner: a thin shell over miner::RunMinerCommand (miner/miner_flags.h).
#include "miner/miner_flags.h"

int main(int argc, char** argv) { return agora::miner::RunMinerCommand(argc, argv); }
