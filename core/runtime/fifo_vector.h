// FifoVector<T>: a queue in a vector — push at the back, pop at the front, binary search and the odd insert or
// erase in the middle. Unlike std::deque it allocates nothing while empty (libstdc++'s deque takes about 600
// bytes at construction, and the runtime keeps a queue or two per actor and per actor a client talks to).
// Popped slots are reclaimed when the queue empties, or by moving the rest down once they are the larger part.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace tandem::runtime {

template <typename T>
class FifoVector {
 public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  T& front() { return items_[head_]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }
  void push_back(T value) { items_.push_back(std::move(value)); }

  // The popped slot keeps what it holds (callers move the front out first) until the queue empties or compacts.
  void pop_front() {
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void clear() {
    items_.clear();
    head_ = 0;
  }

  iterator begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  const_iterator end() const { return items_.end(); }

  iterator insert(const_iterator at, T value) { return items_.insert(at, std::move(value)); }
  iterator erase(const_iterator at) {
    if (at == begin()) {
      pop_front();
      return begin();
    }
    return items_.erase(at);
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;  // items_[0, head_) were popped
};

}  // namespace tandem::runtime
