// io::keepFreedMemoryForReuse: after it, a freed activation-sized block is handed out again
// without the kernel faulting its pages in anew (what made every layer of an image encode
// page-fault its activations on a VM), and blocks above the limit still go back to the system.
// io::keepThreadHeaps: so too from one thread to the next, each in an arena of its own (a
// training step's shards).

#include "io/process_memory.h"
#include "io/sanitizer_build.h"

#include <QtTest>

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

long minorFaults()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

// Page faults taken while a block of `bytes` is allocated, written and freed, the second time
// (the first time its pages are new in any case).
long faultsOfSecondUse(std::size_t bytes)
{
    long faults = 0;
    for (int round = 0; round < 2; ++round) {
        const long before = minorFaults();
        auto* block = static_cast<char*>(std::malloc(bytes));
        std::memset(block, round + 1, bytes);
        const volatile char sink = block[bytes - 1];
        (void)sink;
        std::free(block);
        faults = minorFaults() - before;
    }
    return faults;
}

// Page faults a thread takes while it allocates, writes and frees three blocks of 30 MB: more
// than one 64 MB heap of a thread's own arena holds.
long faultsOfAThreadsWork()
{
    long faults = 0;
    std::thread worker([&] {
        rusage before{}, after{};
        getrusage(RUSAGE_THREAD, &before);
        std::vector<char*> blocks;
        for (int i = 0; i < 3; ++i) {
            blocks.push_back(static_cast<char*>(std::malloc(std::size_t(30) << 20)));
            std::memset(blocks.back(), i + 1, std::size_t(30) << 20);
        }
        const volatile char sink = blocks.back()[1];
        (void)sink;
        for (char* block : blocks)
            std::free(block);
        getrusage(RUSAGE_THREAD, &after);
        faults = after.ru_minflt - before.ru_minflt;
    });
    worker.join();
    return faults;
}

}  // namespace

class TestProcessMemory : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void freedActivationsAreReusedWithoutPageFaults()
    {
        if (querylens::io::kSanitizerRuntime)
            QSKIP("a sanitizer's allocator replaces glibc's and ignores its settings");
        // 40 MB: above glibc's largest adaptive mmap threshold (32 MB), so without the setting
        // every use is a fresh mapping: ~10000 faults of 4 KB pages.
        constexpr std::size_t kBlock = std::size_t(40) << 20;
        const long pages = long(kBlock / 4096);
        const long before = faultsOfSecondUse(kBlock);
        querylens::io::keepFreedMemoryForReuse();
        const long after = faultsOfSecondUse(kBlock);
        qInfo("faults of a 40 MB block's second use: %ld before, %ld after (%ld pages)", before, after, pages);
        QVERIFY2(before > pages / 2, "without the setting glibc was expected to map the block afresh");
        QVERIFY2(after < pages / 100, qPrintable(QStringLiteral("%1 faults").arg(after)));

        // Above the limit (64 MB) a block is still its own mapping, returned when freed.
        const long large = faultsOfSecondUse(std::size_t(96) << 20);
        QVERIFY2(large > long((std::size_t(96) << 20) / 4096) / 2, qPrintable(QStringLiteral("%1 faults").arg(large)));
    }

    void threadsReuseEachOthersFreedMemory()
    {
        if (querylens::io::kSanitizerRuntime)
            QSKIP("a sanitizer's allocator replaces glibc's and ignores its settings");
        // Without keepThreadHeaps the second thread faulted 7681 pages here: the block in its
        // arena's second heap, unmapped once free (checked by leaving it out).
        querylens::io::keepFreedMemoryForReuse();
        querylens::io::keepThreadHeaps();
        const long pages = long((std::size_t(90) << 20) / 4096);
        faultsOfAThreadsWork();
        const long second = faultsOfAThreadsWork();
        qInfo("faults of a second thread's 90 MB: %ld (%ld pages)", second, pages);
        QVERIFY2(second < pages / 100, qPrintable(QStringLiteral("%1 faults").arg(second)));
    }
};

QTEST_GUILESS_MAIN(TestProcessMemory)
#include "test_process_memory.moc"
