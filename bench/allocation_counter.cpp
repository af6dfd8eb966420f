// Replaces the global operator new/delete of tandem_bench (this binary only) to count allocations, so the
// benchmarks can report heap allocations per simulated message. Single-threaded benchmarks: a plain counter.
// Kept in its own translation unit so the compiler never inlines a replaced operator into a caller and then
// mistakes new-then-free for a mismatched pair (GCC 12 -Wmismatched-new-delete).
#include <cstdint>
#include <cstdlib>
#include <new>

namespace tandem::bench {
namespace {
uint64_t g_allocations = 0;
}  // namespace

// Calls of the global operator new (all forms but the aligned ones) since the program started.
uint64_t allocation_count() { return g_allocations; }

}  // namespace tandem::bench

void* operator new(std::size_t size) {
  ++tandem::bench::g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  ++tandem::bench::g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
