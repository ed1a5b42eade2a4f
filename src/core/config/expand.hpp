#pragma once

// Shell-like variable expansion for values in preset files. Pure: the caller passes the
// environment in, so tests and `preset validate` see exactly what a service would get.

#include <map>
#include <string>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::config {

/// Environment variables by name.
using EnvMap = std::map<std::string, std::string>;

/// Expands `$NAME`, `${NAME}` and `${NAME:-default}` (default used when NAME is unset or
/// empty; it is expanded too); `$$` is a literal `$`. Fails naming the first undefined
/// variable, or describing a malformed reference such as a lone `$` or an unclosed `${`.
Result<std::string> expand_variables(std::string_view text, const EnvMap& env);

} // namespace gpumod::config
