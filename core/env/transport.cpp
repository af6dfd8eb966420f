#include "core/env/transport.h"

namespace tandem {

std::string to_string(const Address& address) {
  return "node" + std::to_string(address.node) + ":" + std::to_string(address.port);
}

}  // namespace tandem
