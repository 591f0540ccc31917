// io::keepFreedMemoryForReuse: after it, a freed activation-sized block is handed out again
// without the kernel faulting its pages in anew (what made every layer of an image encode
// page-fault its activations on a VM), and blocks above the limit still go back to the system.

#include "io/process_memory.h"
#include "io/sanitizer_build.h"

#include <QtTest>

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

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
};

QTEST_GUILESS_MAIN(TestProcessMemory)
#include "test_process_memory.moc"
