// The dashboard's static files (validator/dashboard/), embedded in the binary
// at build time by validator/dashboard/embed.cmake, served by the gateway at
// GET /dashboard and /dashboard/<name> (docs/GATEWAY.md, "Dashboard").
#ifndef AGORA_VALIDATOR_DASHBOARD_ASSETS_H_
#define AGORA_VALIDATOR_DASHBOARD_ASSETS_H_

#include <span>
#include <string_view>

namespace agora::validator {

struct EmbeddedFile {
  std::string_view name;  // relative to validator/dashboard/, e.g. "app.js"
  std::string_view data;
};

// Every embedded file (defined in the generated dashboard_files.cc).
std::span<const EmbeddedFile> DashboardFiles();

// The file called `name`, or nullptr: only embedded names match, so no
// request reaches the file system.
const EmbeddedFile* FindDashboardFile(std::string_view name);

// The Content-Type for a file name, by its extension.
std::string_view DashboardContentType(std::string_view name);

}  // namespace agora::validator

#endif  // AGORA_VALIDATOR_DASHBOARD_ASSETS_H_
