// The CPU emulator's runtime (see cuda_emulation.h): kernel registry, the fiber scheduler that
// runs a block, and the JNI entry points of dev.bertft.cuda.KernelEmulator.
#include "cuda_emulation.h"

#include <jni.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

// Switches stacks: saves the callee-saved registers on the current stack, stores its pointer in
// *save, loads `load` and restores what is saved there. A tenth of a microsecond cheaper than
// swapcontext, which also saves the signal mask with a system call on every switch.
#if !defined(__x86_64__)
#error "the kernel emulator's stack switch is written for x86-64"
#endif
extern "C" void emu_switch(void **save, void *load);
asm(R"(
    .text
    .globl emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

namespace emu {
dim3 block_idx, block_dim, grid_dim;
const dim3 *thread_idx;
uint64_t shuffle_slot[1024];
uint32_t mma_a[1024][4], mma_b[1024][2];

struct Kernel {
    Entry entry;
    std::size_t arity;
};

static std::map<std::string, Kernel> &registry() {
    static std::map<std::string, Kernel> kernels;
    return kernels;
}

Registration::Registration(const char *name, Entry entry, std::size_t arity) { registry()[name] = Kernel{entry, arity}; }

enum State { READY, AT_SYNCTHREADS, AT_WARP_OP, EXITED };

struct Copy {
    void *dst;
    const void *src;  // null: zero fill
    int bytes;
};

struct Fiber {
    void *sp;
    dim3 idx;
    State state;
    int site;  // which barrier it waits at
    char *stack;
    std::vector<Copy> open_group;         // cp.async copies since the last commit
    std::deque<std::vector<Copy>> groups;  // committed, not yet waited for
};

static const size_t STACK_BYTES = 256 << 10, GUARD_BYTES = 4096;  // the deepest kernel frame is a few KiB
static Fiber fibers[1024];
static void *scheduler;
static int running, threads_in_block;
static std::string pending_fault;  // the first fault a thread reported in this launch
static Entry kernel;
static void **kernel_args;
static bool reversed;  // run threads and blocks from the last: a missing barrier then reads other data

int linear_thread() { return running; }

int block_threads() { return threads_in_block; }

void fault(const char *what) {
    if (pending_fault.empty()) pending_fault = "thread " + std::to_string(running) + ": " + what;
}

static void wait(State at, int site) {
    fibers[running].state = at;
    fibers[running].site = site;
    emu_switch(&fibers[running].sp, scheduler);
}

void sync_block(int site) { wait(AT_SYNCTHREADS, site); }

// Memory that ends where an inaccessible page begins: a kernel that runs past its end stops the
// process on the spot (the JVM's crash report names the kernel's frame), where a GPU would fault
// or quietly overwrite a neighbour. Returns the usable start, `bytes` (a multiple of 16) before
// the guard page, or null; *mapping and *span are what munmap needs.
unsigned char *guarded(size_t bytes, char **mapping, size_t *span) {
    static const size_t page = (size_t) sysconf(_SC_PAGESIZE);
    *span = (bytes + page - 1) / page * page + page;
    void *m = mmap(nullptr, *span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    *mapping = static_cast<char *>(m);
    if (mprotect(*mapping + *span - page, page, PROT_NONE) != 0) {
        munmap(m, *span);
        return nullptr;
    }
    return reinterpret_cast<unsigned char *>(*mapping + *span - page - bytes);
}

// The most dynamic shared memory a block may ask for (sm_90 with the opt-in attribute).
static const int MAX_DYNAMIC_SHARED = 227 << 10;

// A launch's dynamic shared memory: its last byte is the last before the guard page.
unsigned char *dynamic_shared;
static size_t dynamic_shared_bytes;
static unsigned char *dynamic_shared_end;
// The kernels' static __shared__ arrays (found below, in the library's .bss).
static unsigned char *shared_begin, *shared_end;

static bool in_shared_memory(const unsigned char *d, int bytes) {
    return (d >= dynamic_shared && d + bytes <= dynamic_shared + dynamic_shared_bytes) || (d >= shared_begin && d + bytes <= shared_end);
}

void cp_async(void *dst, const void *src, int bytes, bool valid) {
    auto *d = static_cast<unsigned char *>(dst);
    if (((uintptr_t) dst | (uintptr_t) src) % (uintptr_t) bytes != 0) {
        fault(("cp.async of " + std::to_string(bytes) + " bytes from or to a misaligned address").c_str());
    } else if (!in_shared_memory(d, bytes)) {
        fault("cp.async to an address outside the block's shared memory");
    } else {
        fibers[running].open_group.push_back(Copy{dst, valid ? src : nullptr, bytes});
    }
}

void cp_async_commit() {
    Fiber &f = fibers[running];
    f.groups.push_back(std::move(f.open_group));
    f.open_group.clear();
}

void cp_async_wait(int pending) {
    Fiber &f = fibers[running];
    while ((int) f.groups.size() > pending) {
        for (const Copy &c : f.groups.front()) {
            if (c.src != nullptr) memcpy(c.dst, c.src, (size_t) c.bytes);
            else memset(c.dst, 0, (size_t) c.bytes);
        }
        f.groups.pop_front();
    }
}

void sync_warp(int site) { wait(AT_WARP_OP, site); }

// A fiber's first frame; it never returns, it switches away for good.
static void thread_main() {
    kernel(kernel_args);
    wait(EXITED, 0);
}

// For an access the GPU would not make: the thread stops before it, as on the GPU, and the
// launch faults once the other threads of its warp have run.
[[noreturn]] static void stop_with_fault(const std::string &what) {
    fault(what.c_str());
    wait(EXITED, 0);
    __builtin_unreachable();
}

// A fresh stack as emu_switch leaves one: six zero registers, then thread_main as the return
// address, then a dummy return address of thread_main's own, so it starts with the stack
// alignment a call gives (rsp ≡ 8 mod 16).
static void *fresh_stack(char *stack) {
    void **top = reinterpret_cast<void **>(stack + STACK_BYTES);
    *--top = nullptr;
    *--top = reinterpret_cast<void *>(thread_main);
    for (int i = 0; i < 6; i++) *--top = nullptr;
    return top;
}

static std::string describe(int threads) {
    static const char *names[] = {"running", "at __syncthreads", "at a warp-wide operation", "exited"};
    std::string s;
    int from = 0;
    for (int t = 1; t <= threads; t++) {
        if (t < threads && fibers[t].state == fibers[from].state) continue;
        s += (s.empty() ? "" : "; ") + std::string("threads ") + std::to_string(from) + "-" + std::to_string(t - 1) + " "
             + names[fibers[from].state];
        from = t;
    }
    return s;
}

// The kernels' __shared__ arrays are function statics, so they live in the .bss of
// libkernelemu-kernels.so, which holds nothing else that is read (its registrations are empty
// objects). Filling it with 0xff bytes (NaN, -1) before every block gives each block shared
// memory it must write before it reads, as on the GPU, instead of the last block's values.

static int find_kernels_bss(struct dl_phdr_info *info, size_t, void *) {
    if (info->dlpi_name == nullptr || strstr(info->dlpi_name, "libkernelemu-kernels.so") == nullptr) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) &ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) && ph.p_memsz > ph.p_filesz) {
            shared_begin = reinterpret_cast<unsigned char *>(info->dlpi_addr + ph.p_vaddr + ph.p_filesz);
            shared_end = reinterpret_cast<unsigned char *>(info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
    }
    return 1;
}

static void poison_shared_memory() {
    if (shared_begin == nullptr) dl_iterate_phdr(find_kernels_bss, nullptr);
    if (shared_begin != nullptr) memset(shared_begin, 0xff, (size_t) (shared_end - shared_begin));
    memset(dynamic_shared, 0xff, dynamic_shared_bytes);
}

// Runs the current block to the end; "" or what went wrong.
static std::string run_block() {
    const int threads = threads_in_block;
    poison_shared_memory();
    for (int t = 0; t < threads; t++) {
        Fiber &f = fibers[t];
        if (f.stack == nullptr) {  // with a guard page below, so an overflow faults instead of corrupting a neighbour
            void *p = mmap(nullptr, GUARD_BYTES + STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED || mprotect(p, GUARD_BYTES, PROT_NONE) != 0) return "cannot map a fiber stack";
            f.stack = static_cast<char *>(p) + GUARD_BYTES;
        }
        f.sp = fresh_stack(f.stack);
        f.idx = dim3{t % block_dim.x, t / block_dim.x, 0};
        f.state = READY;
        f.open_group.clear();  // copies a thread never waited for do not reach the next block
        f.groups.clear();
    }
    // Each warp runs as far as it can (through its shuffles and mma) before the next one starts:
    // the most skew between warps CUDA allows, so a barrier missing between them shows.
    const int warps = (threads + 31) / 32;
    for (;;) {
        for (int wi = 0; wi < warps; wi++) {
            int w = reversed ? warps - 1 - wi : wi, begin = 32 * w, end = begin + 32 < threads ? begin + 32 : threads;
            for (;;) {
                for (int i = begin; i < end; i++) {
                    int t = reversed ? end - 1 - (i - begin) : i;
                    if (fibers[t].state != READY) continue;
                    running = t;
                    thread_idx = &fibers[t].idx;
                    emu_switch(&scheduler, fibers[t].sp);
                }
                if (!pending_fault.empty()) return pending_fault;
                int waiting = 0, exited = 0;
                for (int t = begin; t < end; t++) {
                    waiting += fibers[t].state == AT_WARP_OP;
                    exited += fibers[t].state == EXITED;
                }
                if (waiting == 0 || waiting + exited < end - begin) break;
                if (exited > 0) return "warp-wide operation in a warp with exited lanes: " + describe(threads);
                for (int t = begin; t < end; t++) {
                    if (fibers[t].site != fibers[begin].site) {
                        return "lanes of warp " + std::to_string(w) + " wait at different warp-wide operations";
                    }
                }
                for (int t = begin; t < end; t++) fibers[t].state = READY;
            }
        }
        int live = 0, at_syncthreads = 0, site = -1;
        for (int t = 0; t < threads; t++) {
            live += fibers[t].state != EXITED;
            if (fibers[t].state != AT_SYNCTHREADS) continue;
            at_syncthreads++;
            if (site >= 0 && fibers[t].site != site) {
                return "threads wait at different __syncthreads, lines " + std::to_string(site) + " and "
                       + std::to_string(fibers[t].site) + ": " + describe(threads);
            }
            site = fibers[t].site;
        }
        if (live == 0) return "";
        if (at_syncthreads < live) return "threads wait at different barriers and can never meet: " + describe(threads);
        // Exited threads no longer count at __syncthreads (sm_70 and later), but CUDA defines that
        // only for whole warps: a warp that is partly gone cannot take part in a barrier.
        for (int w = 0; w < threads; w += 32) {
            int end = w + 32 < threads ? w + 32 : threads, exited = 0;
            for (int t = w; t < end; t++) exited += fibers[t].state == EXITED;
            if (exited > 0 && exited < end - w) return "__syncthreads after some lanes of a warp returned: " + describe(threads);
        }
        for (int t = 0; t < threads; t++) if (fibers[t].state == AT_SYNCTHREADS) fibers[t].state = READY;
    }
}

static std::string launch(const std::string &name, dim3 grid, dim3 block, int shared_bytes, void **args, std::size_t count) {
    auto it = registry().find(name);
    if (it == registry().end()) return "no kernel named " + name;
    if (it->second.arity != count) {
        return name + " takes " + std::to_string(it->second.arity) + " arguments, given " + std::to_string(count);
    }
    // The driver's limits (CUDA_ERROR_INVALID_VALUE beyond them).
    long long threads_ll = (long long) block.x * block.y;
    if (block.x < 1 || block.y < 1 || threads_ll > 1024 || grid.x < 1 || grid.x > 2147483647u || grid.y < 1 || grid.z < 1 || grid.y > 65535
        || grid.z > 65535 || shared_bytes < 0 || shared_bytes > MAX_DYNAMIC_SHARED) {
        return name + ": grid " + std::to_string(grid.x) + "x" + std::to_string(grid.y) + "x" + std::to_string(grid.z) + ", block "
               + std::to_string(block.x) + "x" + std::to_string(block.y) + ", " + std::to_string(shared_bytes)
               + " bytes of dynamic shared memory is outside the driver's launch limits";
    }
    if (dynamic_shared_end == nullptr) {
        char *mapping;
        size_t span;
        unsigned char *start = guarded(MAX_DYNAMIC_SHARED, &mapping, &span);
        if (start == nullptr) return "cannot map the emulator's shared memory";
        dynamic_shared_end = start + MAX_DYNAMIC_SHARED;
    }
    // 16-byte aligned, like the GPU's shared memory window, and ending at the guard page.
    dynamic_shared_bytes = (size_t) shared_bytes;
    dynamic_shared = dynamic_shared_end - (dynamic_shared_bytes + 15) / 16 * 16;
    kernel = it->second.entry;
    kernel_args = args;
    grid_dim = grid;
    block_dim = block;
    threads_in_block = (int) threads_ll;
    pending_fault.clear();
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                block_idx = reversed ? dim3{grid.x - 1 - x, grid.y - 1 - y, grid.z - 1 - z} : dim3{x, y, z};
                std::string fault = run_block();
                if (!fault.empty()) {
                    return name + " block (" + std::to_string(block_idx.x) + "," + std::to_string(block_idx.y) + ","
                           + std::to_string(block_idx.z) + "): " + fault;
                }
            }
    return "";
}
}  // namespace emu

// The kernels are compiled with -fsanitize=alignment,bounds (KernelEmulator.KERNEL_CHECKS) and
// linked without the sanitizer runtime: g++'s checks call these two handlers, laid out as GCC's
// libsanitizer declares them, and each makes the launch fault with the source line.
namespace ubsan {
struct SourceLocation {
    const char *file;
    uint32_t line, column;
};
struct TypeMismatch {
    SourceLocation where;
    const void *type;
    unsigned char log_alignment;
    unsigned char kind;  // 0 load, 1 store, 2 reference binding, 3 member access, ...
};
struct OutOfBounds {
    SourceLocation where;
    const void *array_type, *index_type;
};

// 0: an integer type, whose info is log2(bits) << 1 | signed.
struct TypeDescriptor {
    uint16_t kind, info;
};

[[noreturn]] static void fault_at(const SourceLocation &where, const std::string &what) {
    const char *file = strrchr(where.file, '/');
    emu::stop_with_fault(std::string(file == nullptr ? where.file : file + 1) + ":" + std::to_string(where.line) + ": " + what);
}

// An integer passed by value, as its type says to read it.
static std::string integer(const void *type, uintptr_t value) {
    const auto *t = static_cast<const TypeDescriptor *>(type);
    unsigned bits = 1u << (t->info >> 1);
    if (t->kind != 0 || bits > 64) return "?";
    if (!(t->info & 1) || bits == 64) return t->info & 1 ? std::to_string((int64_t) value) : std::to_string((uint64_t) value);
    uint64_t sign = 1ull << (bits - 1), v = value & ((sign << 1) - 1);
    return std::to_string((int64_t) (v ^ sign) - (int64_t) sign);
}
}  // namespace ubsan

extern "C" void __ubsan_handle_type_mismatch_v1(ubsan::TypeMismatch *data, uintptr_t pointer) {
    // A struct such as float4 is copied through a reference, which g++ reports as kind 2.
    const char *access = data->kind == 0 ? "load from" : data->kind == 1 ? "store to" : "access to";
    char address[32];
    snprintf(address, sizeof address, "%#lx", (unsigned long) pointer);
    ubsan::fault_at(data->where, std::string(pointer == 0 ? "null " : "misaligned ") + access + " address " + address
                                         + " for a type aligned to " + std::to_string(1u << data->log_alignment) + " bytes");
}

extern "C" void __ubsan_handle_out_of_bounds(ubsan::OutOfBounds *data, uintptr_t index) {
    ubsan::fault_at(data->where, "array index " + ubsan::integer(data->index_type, index) + " out of bounds");
}

extern "C" {

// Device memory is host memory, 256-byte aligned like cuMemAlloc's, filled with 0xff bytes (NaN
// as floats, -1 as ints) so a kernel that reads what nobody wrote shows up in the results. Each
// block ends at a guard page (guarded above); the allocator's buckets are multiples of 512
// bytes, so for them that is the block's exact end.
static std::mutex mappings_lock;
static std::map<jlong, std::pair<char *, size_t>> mappings;  // block → its mapping and span

JNIEXPORT jlong JNICALL Java_dev_bertft_cuda_KernelEmulator_allocate(JNIEnv *, jclass, jlong bytes) {
    size_t rounded = bytes <= 0 ? 256 : ((size_t) bytes + 255) & ~(size_t) 255;
    char *mapping;
    size_t span;
    unsigned char *p = emu::guarded(rounded, &mapping, &span);
    if (p == nullptr) return 0;
    memset(p, 0xff, rounded);
    std::lock_guard<std::mutex> hold(mappings_lock);
    mappings[(jlong) p] = {mapping, span};
    return (jlong) p;
}

JNIEXPORT void JNICALL Java_dev_bertft_cuda_KernelEmulator_release(JNIEnv *, jclass, jlong address) {
    std::lock_guard<std::mutex> hold(mappings_lock);
    auto it = mappings.find(address);
    if (it == mappings.end()) return;
    munmap(it->second.first, it->second.second);
    mappings.erase(it);
}

JNIEXPORT void JNICALL Java_dev_bertft_cuda_KernelEmulator_zero(JNIEnv *, jclass, jlong address, jlong bytes) {
    memset((void *) address, 0, (size_t) bytes);
}

JNIEXPORT void JNICALL Java_dev_bertft_cuda_KernelEmulator_copyIn(JNIEnv *env, jclass, jobject array, jlong address, jlong bytes) {
    void *src = env->GetPrimitiveArrayCritical((jarray) array, nullptr);
    memcpy((void *) address, src, (size_t) bytes);
    env->ReleasePrimitiveArrayCritical((jarray) array, src, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_dev_bertft_cuda_KernelEmulator_copyOut(JNIEnv *env, jclass, jlong address, jobject array, jlong bytes) {
    void *dst = env->GetPrimitiveArrayCritical((jarray) array, nullptr);
    memcpy(dst, (void *) address, (size_t) bytes);
    env->ReleasePrimitiveArrayCritical((jarray) array, dst, 0);
}

JNIEXPORT void JNICALL Java_dev_bertft_cuda_KernelEmulator_reverseSchedule(JNIEnv *, jclass, jboolean on) {
    emu::reversed = on;
}

// Runs a kernel to completion; null, or a one-line description of the fault.
JNIEXPORT jstring JNICALL Java_dev_bertft_cuda_KernelEmulator_launch(JNIEnv *env, jclass, jstring kernel, jint gx, jint gy, jint gz,
                                                                      jint bx, jint by, jint shared_bytes, jbyteArray params,
                                                                      jintArray offsets) {
    const char *chars = env->GetStringUTFChars(kernel, nullptr);
    std::string name(chars);
    env->ReleaseStringUTFChars(kernel, chars);
    alignas(16) static unsigned char buffer[4096];
    static void *args[64];
    jsize bytes = env->GetArrayLength(params), count = env->GetArrayLength(offsets);
    if (bytes > (jsize) sizeof(buffer) || count > 64) return env->NewStringUTF((name + ": too many kernel arguments").c_str());
    env->GetByteArrayRegion(params, 0, bytes, (jbyte *) buffer);
    jint *offs = env->GetIntArrayElements(offsets, nullptr);
    for (jsize i = 0; i < count; i++) args[i] = buffer + offs[i];
    env->ReleaseIntArrayElements(offsets, offs, JNI_ABORT);
    std::string fault = emu::launch(name, dim3{(unsigned) gx, (unsigned) gy, (unsigned) gz}, dim3{(unsigned) bx, (unsigned) by, 1}, shared_bytes, args,
                                    (std::size_t) count);
    return fault.empty() ? nullptr : env->NewStringUTF(fault.c_str());
}
}
