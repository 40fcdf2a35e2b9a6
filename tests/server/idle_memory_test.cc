// IdleMemoryReturner (server/idle_memory.h): the heap is given back once per idle stretch, never
// while a call runs or while calls keep beginning.
#include "server/idle_memory.h"

#include <atomic>

#include "gtest/gtest.h"

namespace seriald {
namespace {

constexpr absl::Duration kPeriod = absl::Milliseconds(20);

TEST(IdleMemoryReturnerTest, GivesBackOncePerIdleStretchAndNeverDuringACall) {
  CallTracker tracker(0);
  std::atomic<int> given_back{0};
  IdleMemoryReturner returner(&tracker, kPeriod, [&] { ++given_back; });

  absl::SleepFor(kPeriod * 10);
  EXPECT_EQ(given_back.load(), 1) << "an idle stretch is trimmed once";

  {
    absl::StatusOr<CallTracker::Token> call = tracker.Begin();
    ASSERT_TRUE(call.ok());
    absl::SleepFor(kPeriod * 10);
    EXPECT_EQ(given_back.load(), 1) << "not while a call runs";
  }
  absl::SleepFor(kPeriod * 10);
  EXPECT_EQ(given_back.load(), 2) << "the next idle stretch is trimmed again";

  // Calls beginning every few milliseconds keep the server from counting as idle.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(tracker.Begin().ok());
    absl::SleepFor(kPeriod / 4);
  }
  EXPECT_LE(given_back.load(), 3);
}

}  // namespace
}  // namespace seriald
