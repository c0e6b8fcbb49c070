#include "validator/dashboard_assets.h"

namespace agora::validator {

const EmbeddedFile* FindDashboardFile(std::string_view name) {
  for (const EmbeddedFile& f : DashboardFiles()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string_view DashboardContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace agora::validator
