// Replaces the global operator new/delete of tandem_bench (this binary only) to count allocations, so the
// benchmarks can report heap allocations per simulated message. Single-threaded benchmarks: a plain counter.
// Also the one place that asks the allocator how many heap bytes are in use (tcmalloc or glibc).
// Kept in its own translation unit so the compiler never inlines a replaced operator into a caller and then
// mistakes new-then-free for a mismatched pair (GCC 12 -Wmismatched-new-delete).
#include <malloc.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(TANDEM_TCMALLOC)
#include <gperftools/malloc_extension.h>
#endif

namespace tandem::bench {
namespace {
uint64_t g_allocations = 0;
}  // namespace

// Calls of the global operator new (all forms but the aligned ones) since the program started.
uint64_t allocation_count() { return g_allocations; }

// Heap bytes the program holds now, as the allocator counts them (its headers and size-class rounding included).
size_t heap_in_use() {
#if defined(TANDEM_TCMALLOC)
  size_t bytes = 0;
  MallocExtension::instance()->GetNumericProperty("generic.current_allocated_bytes", &bytes);
  return bytes;
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;  // small chunks in use + mmapped big blocks
#endif
}

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
