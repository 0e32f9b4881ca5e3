#pragma once
// Buffer<T>: a typed, owning array in a backend's memory.
//
//   engram::Buffer<std::uint32_t> winners(backend, batch * k);
//   std::vector<std::uint32_t> host = winners.to_host();
#include <cstddef>
#include <utility>
#include <vector>

#include "engram/engine/backend/backend.hpp"

namespace engram {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend& backend, std::size_t size) : backend_(&backend), size_(size) {
    if (size_ > 0) data_ = static_cast<T*>(backend.allocate(size_ * sizeof(T)));
  }
  Buffer(Backend& backend, const std::vector<T>& host) : Buffer(backend, host.size()) {
    upload(host);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer(std::move(other)).swap(*this);
    return *this;
  }
  ~Buffer() {
    if (data_ != nullptr) backend_->release(data_);
  }

  void swap(Buffer& other) noexcept {
    std::swap(backend_, other.backend_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t bytes() const noexcept { return size_ * sizeof(T); }

  void zero() {
    if (size_ > 0) backend_->fill_zero(data_, bytes());
  }
  void upload(const std::vector<T>& host) {
    if (!host.empty()) backend_->copy_from_host(data_, host.data(), host.size() * sizeof(T));
  }
  std::vector<T> to_host() const {
    std::vector<T> host(size_);
    if (size_ > 0) backend_->copy_to_host(host.data(), data_, bytes());
    return host;
  }
  // Grows to at least `size` elements, keeping the contents (amortised doubling).
  void reserve_keep(std::size_t size) {
    if (size <= size_) return;
    std::size_t grown = size_ < 1024 ? 1024 : size_;
    while (grown < size) grown *= 2;
    Buffer bigger(*backend_, grown);
    if (size_ > 0) backend_->copy_within(bigger.data_, data_, bytes());
    swap(bigger);
  }

 private:
  Backend* backend_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace engram
