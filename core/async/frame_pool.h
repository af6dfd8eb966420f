// Frame pool: where Task coroutine frames live.
//
// Contract: allocate_frame(bytes) returns storage for `bytes` with operator new's alignment; release_frame(p,
// bytes) takes it back with the same `bytes`. Frames up to kMaxPooledFrameBytes come from per-thread free lists,
// one per 64-byte size class, so the half-dozen frames a served request makes and ends cost a pop and a push
// instead of malloc and free; larger ones go to the heap. A pooled block is kept for reuse and never handed back
// to the heap (the pool holds the peak number of frames alive at once). The lists are trivially destructible, so
// frames destroyed during static destruction are still safe to release; the price is that a thread that exits
// leaves its pooled blocks behind (tasks run on one event-loop thread per process, which lives as long as it).
// A frame released on another thread joins that thread's lists. Under AddressSanitizer every frame goes to the
// heap, so a use after destruction is still caught.
#pragma once

#include <cstddef>
#include <new>

namespace tandem::detail {

inline constexpr size_t kFrameClassBytes = 64;
inline constexpr size_t kFrameClasses = 16;
inline constexpr size_t kMaxPooledFrameBytes = kFrameClassBytes * kFrameClasses;

// One thread's free lists: the head block of each size class, linked through the blocks' first word.
struct FreeFrame {
  FreeFrame* next;
};

#if defined(__SANITIZE_ADDRESS__)
inline void* allocate_frame(size_t bytes) { return ::operator new(bytes); }
inline void release_frame(void* frame, size_t bytes) { ::operator delete(frame, bytes); }
#else
inline thread_local FreeFrame* free_frames[kFrameClasses] = {};

inline void* allocate_frame(size_t bytes) {
  if (bytes == 0 || bytes > kMaxPooledFrameBytes) return ::operator new(bytes);
  const size_t size_class = (bytes - 1) / kFrameClassBytes;
  FreeFrame* block = free_frames[size_class];
  if (block == nullptr) return ::operator new((size_class + 1) * kFrameClassBytes);
  free_frames[size_class] = block->next;
  return block;
}
inline void release_frame(void* frame, size_t bytes) {
  if (bytes == 0 || bytes > kMaxPooledFrameBytes) {
    ::operator delete(frame, bytes);
    return;
  }
  const size_t size_class = (bytes - 1) / kFrameClassBytes;
  FreeFrame* block = static_cast<FreeFrame*>(frame);
  block->next = free_frames[size_class];
  free_frames[size_class] = block;
}
#endif

}  // namespace tandem::detail
