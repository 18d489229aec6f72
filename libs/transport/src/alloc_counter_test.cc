// Replaces the global allocation functions of the transport test binary with counting ones, so
// tests can prove that encode/decode/reassembly paths never touch the heap. Kept in its own
// translation unit so that the compiler cannot inline new/delete pairs into the tests.
#include <cstddef>
#include <cstdlib>
#include <new>

namespace smpkit::transport::test_support {
namespace {
size_t g_allocations = 0;
}  // namespace
size_t AllocationCount() { return g_allocations; }
}  // namespace smpkit::transport::test_support

void* operator new(size_t n) {
  ++smpkit::transport::test_support::g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
