// vLLM's sleep mode through VllmControl, against a fake vLLM server (tests/support).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/fake_vllm.hpp"
#include "adapters/posix/net.hpp"
#include "adapters/services/vllm_control.hpp"

namespace gpumod::services {
namespace {

using ::testing::ElementsAre;
using testing::FakeVllm;
using ::testing::HasSubstr;

VllmControl control_for(const std::string& url)
{
    auto control = VllmControl::create(url);
    EXPECT_TRUE(control) << (control ? "" : control.error().message);
    return std::move(*control);
}

TEST(VllmControl, SleepsAndWakesAndReportsTheState)
{
    FakeVllm vllm;
    auto control = control_for(vllm.url());
    EXPECT_EQ(control.health(), 200);
    EXPECT_EQ(control.is_sleeping(), false);

    ASSERT_TRUE(control.sleep(1));
    EXPECT_TRUE(vllm.sleeping());
    EXPECT_EQ(vllm.level(), 1);
    EXPECT_EQ(control.is_sleeping(), true);

    ASSERT_TRUE(control.wake());
    EXPECT_FALSE(vllm.sleeping());
    EXPECT_EQ(control.is_sleeping(), false);

    ASSERT_TRUE(control.sleep(2));
    EXPECT_EQ(vllm.level(), 2);
    EXPECT_THAT(vllm.calls(), ElementsAre("GET /health", "GET /is_sleeping", "POST /sleep?level=1",
                                          "GET /is_sleeping", "POST /wake_up", "GET /is_sleeping",
                                          "POST /sleep?level=2"));
}

TEST(VllmControl, ALevelVllmDoesNotKnowIsRefusedBeforeAnyCall)
{
    FakeVllm vllm;
    auto control = control_for(vllm.url());
    const auto bad = control.sleep(3);
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message, HasSubstr("sleep level 3"));
    EXPECT_TRUE(vllm.calls().empty());
}

TEST(VllmControl, WithoutSleepModeThe404NamesTheFlag)
{
    FakeVllm vllm(FakeVllm::Options{false, 0});
    auto control = control_for(vllm.url());
    EXPECT_EQ(control.health(), 200);
    for (const auto& error :
         {control.sleep(1).error(), control.wake().error(), control.is_sleeping().error()}) {
        EXPECT_THAT(error.message, HasSubstr("404"));
        EXPECT_THAT(error.message, HasSubstr("--enable-sleep-mode"));
        EXPECT_THAT(error.message, HasSubstr("VLLM_SERVER_DEV_MODE=1"));
        EXPECT_THAT(error.message, HasSubstr(vllm.url()));
    }
}

TEST(VllmControl, ServerErrorsCarryTheStatusAndBody)
{
    FakeVllm vllm(FakeVllm::Options{true, 500});
    auto control = control_for(vllm.url());
    const auto failed = control.sleep(1);
    ASSERT_FALSE(failed);
    EXPECT_THAT(failed.error().message, HasSubstr("POST /sleep?level=1"));
    EXPECT_THAT(failed.error().message, HasSubstr("HTTP 500: CUDA error: out of memory"));
    EXPECT_FALSE(vllm.sleeping());
}

TEST(VllmControl, NothingListeningSaysSo)
{
    auto port = posix::find_free_loopback_port();
    ASSERT_TRUE(port);
    auto control = control_for("http://127.0.0.1:" + std::to_string(*port));
    const auto failed = control.wake();
    ASSERT_FALSE(failed);
    EXPECT_THAT(failed.error().message, HasSubstr("did not answer"));
    EXPECT_THAT(failed.error().message, HasSubstr("is the service running?"));
}

} // namespace
} // namespace gpumod::services
