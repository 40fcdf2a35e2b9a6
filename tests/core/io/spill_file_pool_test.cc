// SpillFilePool (core/io/spill_file_pool.h): a file given back is taken again for its directory,
// longest first; the bound cuts or closes what does not fit; Release closes everything. And
// SpillFile with a pool: a kept file is written over and shows nothing of its earlier use, and
// goes back only once the last slice of its mapping goes.
#include "core/io/spill_file_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "core/io/spill_file.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"

namespace seriald {
namespace {

class SpillFilePoolTest : public ::testing::Test {
 protected:
  // An unnamed file in the scratch directory holding `length` bytes.
  SpillFilePool::KeptFile NewFile(uint64_t length) {
    const int fd = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << "O_TMPFILE: " << errno;
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(length)), 0);
    return {fd, dir_, length};
  }

  static uint64_t FileLength(int fd) {
    struct stat info;
    if (::fstat(fd, &info) != 0) return UINT64_MAX;
    return static_cast<uint64_t>(info.st_size);
  }

  static ino_t Inode(int fd) {
    struct stat info;
    EXPECT_EQ(::fstat(fd, &info), 0);
    return info.st_ino;
  }

  static bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

  testing::ScratchDir scratch_;
  const std::string dir_ = scratch_.path();
};

TEST_F(SpillFilePoolTest, AFileGivenBackIsTakenAgainForItsDirectoryLongestFirst) {
  SpillFilePool pool(1 << 20);
  const SpillFilePool::KeptFile small = NewFile(1000);
  const SpillFilePool::KeptFile large = NewFile(5000);
  pool.Give(small);
  pool.Give(large);
  EXPECT_EQ(pool.kept_files(), 2u);
  EXPECT_EQ(pool.kept_bytes(), 6000u);

  EXPECT_FALSE(pool.Take(dir_ + "/other").has_value());
  std::optional<SpillFilePool::KeptFile> first = pool.Take(dir_);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->fd, large.fd);
  EXPECT_EQ(first->length, 5000u);
  EXPECT_EQ(pool.kept_bytes(), 1000u);
  std::optional<SpillFilePool::KeptFile> second = pool.Take(dir_);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->fd, small.fd);
  EXPECT_FALSE(pool.Take(dir_).has_value());
  EXPECT_EQ(pool.kept_bytes(), 0u);
  ::close(first->fd);
  ::close(second->fd);
}

TEST_F(SpillFilePoolTest, TheBoundCutsOrClosesWhatDoesNotFit) {
  SpillFilePool pool(10000);
  const SpillFilePool::KeptFile a = NewFile(6000);
  const SpillFilePool::KeptFile b = NewFile(6000);
  const SpillFilePool::KeptFile c = NewFile(6000);
  pool.Give(a);
  pool.Give(b);  // cut to the 4000 bytes left
  EXPECT_EQ(FileLength(b.fd), 4000u);
  pool.Give(c);  // no room: closed
  EXPECT_FALSE(IsOpen(c.fd));
  EXPECT_EQ(pool.kept_files(), 2u);
  EXPECT_EQ(pool.kept_bytes(), 10000u);

  // A smaller bound cuts the latest given first, then closes.
  pool.set_keep_bytes(7000);
  EXPECT_EQ(FileLength(b.fd), 1000u);
  EXPECT_EQ(pool.kept_bytes(), 7000u);
  pool.set_keep_bytes(5000);
  EXPECT_FALSE(IsOpen(b.fd));
  EXPECT_EQ(FileLength(a.fd), 5000u);
  EXPECT_EQ(pool.kept_files(), 1u);
  EXPECT_EQ(pool.kept_bytes(), 5000u);

  pool.Release();
  EXPECT_FALSE(IsOpen(a.fd));
  EXPECT_EQ(pool.kept_files(), 0u);
  EXPECT_EQ(pool.kept_bytes(), 0u);
}

TEST_F(SpillFilePoolTest, AnEmptyFileOrAPoolThatKeepsNothingCloses) {
  SpillFilePool keeps_nothing(0);
  const SpillFilePool::KeptFile file = NewFile(100);
  keeps_nothing.Give(file);
  EXPECT_FALSE(IsOpen(file.fd));

  SpillFilePool pool(1 << 20);
  const SpillFilePool::KeptFile empty = NewFile(0);
  pool.Give(empty);
  EXPECT_FALSE(IsOpen(empty.fd));
  EXPECT_EQ(pool.kept_files(), 0u);
}

TEST_F(SpillFilePoolTest, AKeptFileIsWrittenOverAndShowsNothingOfItsEarlierUse) {
  SpillFilePool pool(1 << 20);
  const std::string earlier(100000, 'a');
  ino_t inode = 0;
  {
    absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_, &pool);
    ASSERT_TRUE(spill.ok()) << spill.status();
    const std::string_view piece = earlier;
    ASSERT_TRUE(spill->Append(absl::MakeConstSpan(&piece, 1)).ok());
    absl::StatusOr<Buffer> mapped = std::move(*spill).Map();
    ASSERT_TRUE(mapped.ok()) << mapped.status();
    inode = Inode(mapped->file_region()->descriptor);
    EXPECT_EQ(pool.kept_files(), 0u) << "the mapping holds the file";
  }
  EXPECT_EQ(pool.kept_files(), 1u);
  EXPECT_EQ(pool.kept_bytes(), earlier.size());

  absl::StatusOr<SpillFile> again = SpillFile::Create(dir_, &pool);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(pool.kept_files(), 0u);
  const std::string later(5000, 'b');
  const std::string_view piece = later;
  ASSERT_TRUE(again->Append(absl::MakeConstSpan(&piece, 1)).ok());
  absl::StatusOr<Buffer> mapped = std::move(*again).Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->view(), later);
  const int descriptor = mapped->file_region()->descriptor;
  EXPECT_EQ(Inode(descriptor), inode) << "the kept file, not a new one";
  // Cut to what this use wrote: nothing of the earlier 'a's past it, in the file or the page.
  EXPECT_EQ(FileLength(descriptor), later.size());
  char past = 0;
  EXPECT_EQ(::pread(descriptor, &past, 1, static_cast<off_t>(later.size())), 0);

  // Back to the pool only once the last slice of the mapping goes.
  Buffer slice = mapped->Slice(10, 10);
  *mapped = Buffer();
  EXPECT_EQ(pool.kept_files(), 0u);
  EXPECT_EQ(slice.view(), std::string(10, 'b'));
  slice = Buffer();
  EXPECT_EQ(pool.kept_files(), 1u);
  EXPECT_EQ(pool.kept_bytes(), later.size());
}

TEST_F(SpillFilePoolTest, ASpillFileDroppedUnmappedGoesBackAtItsWholeLength) {
  SpillFilePool pool(1 << 20);
  pool.Give(NewFile(30000));
  {
    absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_, &pool);
    ASSERT_TRUE(spill.ok()) << spill.status();
    const std::string bytes(100, 'c');
    const std::string_view piece = bytes;
    ASSERT_TRUE(spill->Append(absl::MakeConstSpan(&piece, 1)).ok());
    absl::StatusOr<Buffer> read = spill->ReadAt(0, 100);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->view(), bytes) << "written from the start";
  }
  // Not cut (nothing maps it): its pages past what this use wrote are still the file's.
  EXPECT_EQ(pool.kept_files(), 1u);
  EXPECT_EQ(pool.kept_bytes(), 30000u);

  // An empty use gives an empty Buffer, and the file back.
  absl::StatusOr<SpillFile> empty = SpillFile::Create(dir_, &pool);
  ASSERT_TRUE(empty.ok()) << empty.status();
  absl::StatusOr<Buffer> mapped = std::move(*empty).Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_TRUE(mapped->empty());
  EXPECT_EQ(pool.kept_files(), 0u) << "cut to nothing, so closed";
}

// Calls spilling at once, as a server's do: each sees exactly its own bytes, whichever file it got,
// and the pool never keeps more than its bound.
TEST_F(SpillFilePoolTest, ConcurrentUsersSeeOnlyTheirOwnBytesWithinTheBound) {
  constexpr uint64_t kKeep = 300000;
  SpillFilePool pool(kKeep);
  std::atomic<int> wrong{0};
  std::atomic<bool> over_bound{false};
  std::vector<std::thread> users;
  for (int t = 0; t < 4; ++t) {
    users.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        // Sizes that vary, so that kept files are longer or shorter than the next use.
        const std::string bytes(static_cast<size_t>(1000 + (t * 7919 + round * 104729) % 150000),
                                static_cast<char>('a' + (t * 50 + round) % 26));
        absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_, &pool);
        if (!spill.ok()) {
          ++wrong;
          continue;
        }
        const std::string_view piece = bytes;
        if (!spill->Append(absl::MakeConstSpan(&piece, 1)).ok()) ++wrong;
        absl::StatusOr<Buffer> mapped = std::move(*spill).Map();
        if (!mapped.ok() || mapped->view() != bytes ||
            FileLength(mapped->file_region()->descriptor) != bytes.size()) {
          ++wrong;
        }
        if (pool.kept_bytes() > kKeep) over_bound = true;
      }
    });
  }
  for (std::thread& user : users) user.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_FALSE(over_bound.load());
  EXPECT_LE(pool.kept_bytes(), kKeep);
  EXPECT_GE(pool.kept_files(), 1u);
}

TEST_F(SpillFilePoolTest, WithoutAPoolTheFileIsClosed) {
  absl::StatusOr<SpillFile> spill = SpillFile::Create(dir_, nullptr);
  ASSERT_TRUE(spill.ok()) << spill.status();
  const std::string bytes(100, 'd');
  const std::string_view piece = bytes;
  ASSERT_TRUE(spill->Append(absl::MakeConstSpan(&piece, 1)).ok());
  absl::StatusOr<Buffer> mapped = std::move(*spill).Map();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  const int descriptor = mapped->file_region()->descriptor;
  EXPECT_TRUE(IsOpen(descriptor));
  *mapped = Buffer();
  EXPECT_FALSE(IsOpen(descriptor));
  EXPECT_EQ(SpillFilePool::Shared().kept_files(), 0u) << "the shared pool keeps nothing by default";
}

}  // namespace
}  // namespace seriald
