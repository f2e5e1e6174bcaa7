// The live-client cap holds while admissions race: the API answers a live request on a worker
// thread, but the subscription starts later, on the event loop, when the stream opens. A place
// is therefore taken at admission and held until the stream ends or is never opened.
#include <gtest/gtest.h>

#include "web/api/api.hpp"
#include "web/live/hub.hpp"

namespace streamtrack::web::api {
namespace {

class NullSink final : public EventSink {
 public:
  void send(std::shared_ptr<const std::string>) override {}
};

Request live_request() {
  Request r;
  r.method = "GET";
  r.path = "/api/v1/live";
  return r;
}

class LiveAdmission : public ::testing::Test {
 protected:
  db::Pool m_pool{db::Pool::Options{}};  // the overview stream needs no database
  live::Hub m_hub{16, 1};
  Api m_api{m_pool, m_hub, ApiOptions{.max_live_clients = 2}};
};

TEST_F(LiveAdmission, AdmittedStreamsNotYetOpenCountAgainstTheCap) {
  auto first = m_api.handle(live_request());
  auto second = m_api.handle(live_request());
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  const auto third = m_api.handle(live_request());
  EXPECT_EQ(third.status, 503) << third.body;
  EXPECT_NE(third.body.find("\"busy\""), std::string::npos);
}

TEST_F(LiveAdmission, APlaceIsFreedWhenItsStreamEndsOrIsNeverOpened) {
  auto opened = m_api.handle(live_request());
  {
    auto abandoned = m_api.handle(live_request());  // the client left before its stream opened
  }
  auto close = opened.open_stream(std::make_shared<NullSink>());
  EXPECT_EQ(m_hub.subscribers(), 1u);
  auto refill = m_api.handle(live_request());
  EXPECT_EQ(refill.status, 200);
  EXPECT_EQ(m_api.handle(live_request()).status, 503);
  close();
  opened.open_stream = nullptr;  // the server drops the response once the stream ended
  EXPECT_EQ(m_hub.subscribers(), 0u);
  EXPECT_EQ(m_api.handle(live_request()).status, 200);
}

}  // namespace
}  // namespace streamtrack::web::api
