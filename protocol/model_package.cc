#include "protocol/model_package.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "protocol/codec.h"

namespace agora::protocol {
namespace {

bool GoodFileName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxPackageFileName || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string EncodeModelPackage(const ModelPackage& package) { return Encode(package); }

absl::StatusOr<ModelPackage> DecodeModelPackage(absl::string_view bytes) {
  DecodeLimits limits;
  limits.max_array = kMaxPackageFiles;
  limits.max_map = 4;
  limits.max_str = bytes.size();  // one file may be nearly the whole package
  limits.max_bin = 0;
  limits.max_depth = 4;
  absl::StatusOr<ModelPackage> p = Decode<ModelPackage>(bytes, "ModelPackage", limits);
  if (!p.ok()) return p.status();
  if (p->format.empty() || p->format.size() > 32) {
    return absl::InvalidArgumentError("ModelPackage: format must be 1..32 bytes");
  }
  std::set<std::string> names;
  for (const PackageFile& f : p->files) {
    if (!GoodFileName(f.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ModelPackage: bad file name (", kMaxPackageFileName,
                       " bytes of [A-Za-z0-9._-] at most, no leading dot)"));
    }
    if (!names.insert(f.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("ModelPackage: file ", f.name, " twice"));
    }
  }
  return p;
}

const PackageFile* FindPackageFile(const ModelPackage& package, absl::string_view name) {
  for (const PackageFile& f : package.files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace agora::protocol
