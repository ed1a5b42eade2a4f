#pragma once

// Where the supervisor gets services and modes from. Presets and modes (YAML) render into
// these through the config loader; tests build them in code. A port, so the supervision code
// does not depend on how services are described.

#include <map>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "core/services/preflight.hpp"
#include "core/services/service_spec.hpp"

namespace gpumod {

/// A mode: services that run together, started in this order.
struct ModeSpec
{
    std::string id;
    std::string name;
    std::vector<std::string> services;
};

/// Lookup of services and modes by id.
class ServiceCatalog
{
  public:
    virtual ~ServiceCatalog() = default;
    /// The service with this id; an error naming the id (and where it was looked for) otherwise.
    virtual Result<ServiceSpec> service(const std::string& id) const = 0;
    /// Every service id the catalog knows, sorted.
    virtual Result<std::vector<std::string>> service_ids() const = 0;
    /// The mode with this id; an error naming the id otherwise.
    virtual Result<ModeSpec> mode(const std::string& id) const = 0;
};

/// A catalog held in memory (tests, and the app before presets are loaded).
class InMemoryCatalog final : public ServiceCatalog
{
  public:
    /// Adds or replaces a service.
    void add(ServiceSpec spec) { m_services[spec.id] = std::move(spec); }
    /// Adds or replaces a mode.
    void add(ModeSpec mode) { m_modes[mode.id] = std::move(mode); }

    Result<ServiceSpec> service(const std::string& id) const override
    {
        auto it = m_services.find(id);
        if (it == m_services.end()) {
            return fail("unknown service '" + id + "'");
        }
        return it->second;
    }
    Result<std::vector<std::string>> service_ids() const override
    {
        std::vector<std::string> ids;
        for (const auto& [id, spec] : m_services) {
            ids.push_back(id);
        }
        return ids;
    }
    Result<ModeSpec> mode(const std::string& id) const override
    {
        auto it = m_modes.find(id);
        if (it == m_modes.end()) {
            return fail("unknown mode '" + id + "'");
        }
        return it->second;
    }

  private:
    std::map<std::string, ServiceSpec> m_services;
    std::map<std::string, ModeSpec> m_modes;
};

} // namespace gpumod
