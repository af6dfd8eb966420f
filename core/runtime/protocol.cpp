#include "core/runtime/protocol.h"

#include "core/env/random.h"

namespace tandem::runtime::protocol {

uint64_t actor_digest_term(ActorId actor, uint64_t incarnation) {
  return hash_combine(hash_combine(0x61637472ULL, actor), incarnation);
}

}  // namespace tandem::runtime::protocol
