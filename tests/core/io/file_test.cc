// Tests of ReadFile / WriteFile: small files, memory-mapped large files, standard input, errors.
#include "core/io/file.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace seriald {
namespace {

using ::testing::HasSubstr;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "seriald_file_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& path : created_) ::unlink(path.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string Path(const std::string& name) {
    created_.push_back(dir_ + "/" + name);
    return created_.back();
  }

  std::string dir_;
  std::vector<std::string> created_;
};

BufferChain ChainOf(std::initializer_list<std::string> pieces) {
  BufferChain chain;
  for (const std::string& piece : pieces) chain.Append(Buffer::FromString(piece));
  return chain;
}

// True when the process has `path` mapped into memory.
bool IsMapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= path.size() &&
        line.compare(line.size() - path.size(), path.size(), path) == 0) {
      return true;
    }
  }
  return false;
}

TEST_F(FileTest, WritesEveryPieceAndReadsItBack) {
  std::string path = Path("small.bin");
  ASSERT_TRUE(WriteFile(path, ChainOf({"abc", std::string("\0\1\2", 3), "xyz"})).ok());
  absl::StatusOr<Buffer> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->view(), std::string("abc\0\1\2xyz", 9));
  // Writing again replaces the file rather than appending to it.
  ASSERT_TRUE(WriteFile(path, ChainOf({"new"})).ok());
  EXPECT_EQ(ReadFile(path)->view(), "new");
}

TEST_F(FileTest, LargeFilesAreMappedNotCopied) {
  std::string path = Path("large.bin");
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  ASSERT_TRUE(WriteFile(path, ChainOf({data})).ok());
  {
    absl::StatusOr<Buffer> read = ReadFile(path);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_TRUE(IsMapped(path));
    EXPECT_EQ(read->size(), data.size());
    EXPECT_TRUE(read->view() == data);
    EXPECT_EQ(read->WritableBytes(), nullptr);  // a read-only mapping
  }
  EXPECT_FALSE(IsMapped(path));  // released with the last Buffer
}

// How many of the process's open descriptors are on `path`.
int DescriptorsOn(const std::string& path) {
  int count = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    char target[4096];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target);
    if (n > 0 && std::string_view(target, static_cast<size_t>(n)) == path) ++count;
  }
  return count;
}

TEST_F(FileTest, AMappedFileKeepsADescriptorOfItsOwnWhileItsBuffersLive) {
  std::string path = Path("region.bin");
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  ASSERT_TRUE(WriteFile(path, ChainOf({data})).ok());
  {
    absl::StatusOr<Buffer> read = ReadFile(path);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(DescriptorsOn(path), 1);  // ReadFile's own is closed, the mapping's is not
    ASSERT_TRUE(read->file_region().has_value());
    EXPECT_EQ(read->file_region()->offset, 0u);
    // A slice knows where its bytes are in the file, and the descriptor reads them.
    const Buffer slice = read->Slice(5000, 100);
    std::optional<Buffer::FileRegion> region = slice.file_region();
    ASSERT_TRUE(region.has_value());
    EXPECT_EQ(region->offset, 5000u);
    std::string bytes(100, '\0');
    ASSERT_TRUE(ReadAt(region->descriptor, region->offset, 100,
                       reinterpret_cast<uint8_t*>(bytes.data()), "the test file")
                    .ok());
    EXPECT_EQ(bytes, data.substr(5000, 100));
    // A descriptor that cannot be read says why, and where.
    const int directory = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(directory, 0);
    absl::Status refused =
        ReadAt(directory, 7, 1, reinterpret_cast<uint8_t*>(bytes.data()), "the directory");
    ::close(directory);
    EXPECT_EQ(refused.code(), absl::StatusCode::kInternal);
    EXPECT_EQ(refused.message(), "cannot read the directory at byte 7: Is a directory");
    // Reading past the file's end says where it ended.
    absl::Status past = ReadAt(region->descriptor, data.size() - 10, 20,
                               reinterpret_cast<uint8_t*>(bytes.data()), "the test file");
    EXPECT_EQ(past.code(), absl::StatusCode::kInternal);
    EXPECT_EQ(past.message(),
              absl::StrCat("cannot read the test file at byte ", data.size(), ": it ends early"));
    *read = Buffer();
    EXPECT_EQ(DescriptorsOn(path), 1);  // the slice keeps the mapping, and its descriptor
  }
  EXPECT_EQ(DescriptorsOn(path), 0);
  // Memory that is no file mapping, and a small file (read, not mapped), have no region.
  EXPECT_FALSE(Buffer::Copy("abc").file_region().has_value());
  std::string small = Path("small-region.bin");
  ASSERT_TRUE(WriteFile(small, ChainOf({"tiny"})).ok());
  EXPECT_FALSE(ReadFile(small)->file_region().has_value());
}

// The process's resident memory in KiB (VmRSS).
long ResidentKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_F(FileTest, AMappedFilesPagesCanBeGivenBackAndReadAgain) {
  std::string path = Path("pages.bin");
  std::string data(32 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  ASSERT_TRUE(WriteFile(path, ChainOf({data})).ok());
  data = std::string();  // keep only the mapping resident
  absl::StatusOr<Buffer> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  // Mapped, not read: touching the bytes makes them resident.
  uint64_t sum = 0;
  for (size_t i = 0; i < read->size(); i += 4096) sum += read->data()[i];
  const long touched = ResidentKiB();
  // A slice gives back only the whole pages inside it; all of it, every page.
  read->Slice(1, 4095).DropPages();  // no whole page inside: nothing happens
  EXPECT_GT(ResidentKiB(), touched - 1024);
  read->DropPages();
  EXPECT_LT(ResidentKiB(), touched - 24 * 1024) << "KiB resident before: " << touched;
  // Touched again, the pages come back from the file with the same bytes.
  uint64_t again = 0;
  for (size_t i = 0; i < read->size(); i += 4096) again += read->data()[i];
  EXPECT_EQ(again, sum);
  EXPECT_EQ(static_cast<uint8_t>(read->data()[read->size() - 1]), (read->size() - 1) % 251);
  // Memory that is not a file mapping is left alone.
  Buffer copy = Buffer::Copy(read->view().substr(0, 1 << 20));
  copy.DropPages();
  EXPECT_TRUE(copy.view() == read->view().substr(0, 1 << 20));
}

TEST_F(FileTest, SmallFilesAreRead) {
  std::string path = Path("small.bin");
  ASSERT_TRUE(WriteFile(path, ChainOf({"tiny"})).ok());
  absl::StatusOr<Buffer> read = ReadFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(IsMapped(path));
  EXPECT_EQ(read->view(), "tiny");
}

TEST_F(FileTest, DashReadsStandardInput) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "from a pipe", 11), 11);
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  absl::StatusOr<Buffer> read = ReadFile("-");
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->view(), "from a pipe");
}

TEST_F(FileTest, ReadDescriptorReadsAPipeInFull) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string data(200000, 'p');  // more than a pipe buffer: written by a child
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fds[1], data.data() + done, data.size() - done);
      if (n <= 0) ::_exit(1);
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  absl::StatusOr<Buffer> read = ReadDescriptor(fds[0], "pipe");
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->view() == data);
}

TEST_F(FileTest, ErrorsNameThePathAndTheReason) {
  absl::Status missing = ReadFile(dir_ + "/missing.t7").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("missing.t7"));
  EXPECT_THAT(std::string(missing.message()), HasSubstr("No such file"));

  absl::Status directory = ReadFile(dir_).status();
  EXPECT_EQ(directory.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(directory.message()), HasSubstr("is a directory"));

  absl::Status unwritable = WriteFile(dir_ + "/no/such/dir/out.t7", ChainOf({"x"}));
  EXPECT_EQ(unwritable.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unwritable.message()), HasSubstr("out.t7"));
}

TEST(FileErrorsTest, AFullDiskIsResourceExhaustedNamingTheFile) {
  // /dev/full fails every write with ENOSPC, as a full disk or spill directory does.
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  absl::Status status = WriteBytes(fd, "abc", 3, "the spill file");
  ::close(fd);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "cannot write the spill file: No space left on device");
  EXPECT_EQ(ErrnoStatus(EDQUOT, "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus(ENOENT, "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EIO, "x").code(), absl::StatusCode::kInternal);
}

// writev returns short counts when a signal interrupts it after it has written some bytes (and
// EINTR before): a pipe whose reader is slow, and a timer signal every 200 microseconds whose
// handler does not restart the call, make that happen many times. WritePieces must go on from
// the exact byte where each write stopped, across more pieces than one writev takes.
std::atomic<int> interrupts{0};
void CountInterrupt(int) { ++interrupts; }

TEST(WritePiecesTest, ShortWritesGoOnFromWhereTheyStopped) {
  std::string all;
  std::vector<std::string> owned;
  for (int i = 0; i < 300; ++i) {
    owned.push_back(std::string(static_cast<size_t>((i * 7919) % 70000 + (i % 3 == 0 ? 0 : 1)),
                                static_cast<char>('a' + i % 26)));
    owned.back()[0] = static_cast<char>(i);
    all += owned.back();
  }
  std::vector<std::string_view> pieces(owned.begin(), owned.end());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string received;
  std::thread reader([&] {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);
    char buffer[4096];
    while (true) {
      const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
      ::usleep(20);  // slower than the writer: the pipe stays full, writes wait
    }
  });
  struct sigaction action {};
  action.sa_handler = CountInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: an interrupted writev returns
  struct sigaction previous {};
  ASSERT_EQ(::sigaction(SIGALRM, &action, &previous), 0);
  itimerval timer{{0, 200}, {0, 200}};
  ASSERT_EQ(::setitimer(ITIMER_REAL, &timer, nullptr), 0);
  absl::Status status = WritePieces(fds[1], pieces, "the pipe");
  itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGALRM, &previous, nullptr);
  ::close(fds[1]);
  reader.join();
  ::close(fds[0]);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_GT(interrupts.load(), 10) << "the writes were hardly interrupted";
  ASSERT_EQ(received.size(), all.size());
  EXPECT_TRUE(received == all) << "the bytes that came through differ from the pieces'";
}

}  // namespace
}  // namespace seriald
