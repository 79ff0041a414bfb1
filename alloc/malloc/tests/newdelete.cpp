// C++ under librseq_dsl_malloc.so: libstdc++'s operator new and delete (plain, sized,
// array, over-aligned, nothrow) call malloc, aligned_alloc and free, so they come to the
// preloaded library. scripts/malloc-ci.sh builds it with g++ and runs it under LD_PRELOAD.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "newdelete.cpp:%d: check failed: %s\n", __LINE__, \
                         #cond);                                                     \
            std::abort();                                                            \
        }                                                                            \
    } while (0)

struct alignas(64) Line {
    std::uint64_t words[8];
};

struct alignas(4096) Page {
    char bytes[4096];
};

static void containers(unsigned seed) {
    std::map<std::string, std::vector<int>> m;
    std::unordered_map<int, std::string> u;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        std::string key = "key-" + std::to_string(seed % 5000);
        m[key].push_back(i);
        u[i % 3000] = std::string(seed % 200, 'x');
    }
    std::size_t total = 0;
    for (auto &kv : m) total += kv.second.size();
    CHECK(total == 20000);
    CHECK(u.size() == 3000);
}

// Where the impossible block would go: a volatile global, so that the compiler keeps the
// allocation (it may drop a new/delete pair whose block nothing sees).
static char *volatile escaped;

static void shapes() {
    // Over-aligned new goes through aligned_alloc.
    std::vector<std::unique_ptr<Line>> lines;
    for (int i = 0; i < 1000; i++) {
        lines.emplace_back(new Line());
        CHECK(reinterpret_cast<std::uintptr_t>(lines.back().get()) % 64 == 0);
    }
    auto *page = new Page();
    CHECK(reinterpret_cast<std::uintptr_t>(page) % 4096 == 0);
    delete page;
    auto *arrays = new Line[100];
    CHECK(reinterpret_cast<std::uintptr_t>(arrays) % 64 == 0);
    delete[] arrays;
    // Array, nothrow and sized forms.
    for (std::size_t n = 1; n < 5000; n += 37) {
        char *a = new char[n];
        a[n - 1] = 1;
        delete[] a;
        int *b = new (std::nothrow) int[n];
        CHECK(b != nullptr);
        delete[] b;
    }
    // An impossible request throws bad_alloc (malloc's NULL, through operator new).
    bool threw = false;
    try {
        volatile std::size_t huge = SIZE_MAX / 4;
        escaped = new char[huge];
        delete[] escaped;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
}

int main() {
    shapes();
    // Shared pointers handed between threads: deleted by another thread than the one
    // that allocated them.
    std::vector<std::shared_ptr<std::string>> shared;
    std::mutex lock;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; t++) {
        threads.emplace_back([t, &shared, &lock] {
            containers(t + 1);
            for (int i = 0; i < 5000; i++) {
                auto s = std::make_shared<std::string>(100 + i % 900, 'a' + t);
                std::lock_guard<std::mutex> g(lock);
                if (shared.size() < 64)
                    shared.push_back(std::move(s));
                else
                    shared[i % 64] = std::move(s);
            }
        });
    }
    for (auto &t : threads) t.join();
    shared.clear();
    std::printf("newdelete: ok\n");
    return 0;
}
