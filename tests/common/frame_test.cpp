// The frame message (common/wire/frame.hpp): every refusal of a whole frame, every refusal of
// one element while the others stand, and the builder's bounds.
#include "common/wire/frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/wire/codec.hpp"

namespace streamtrack::wire {
namespace {

using namespace std::chrono;

Sample sample(std::int64_t seq, std::string agent = "rig-1") {
  Sample s;
  s.agent = std::move(agent);
  s.seq = seq;
  s.ts = sys_days{2026y / November / 25} + 1h + milliseconds{seq};
  s.platform = "nginx_rtmp";
  s.channel = "live/main";
  s.live = true;
  s.viewers = seq;
  s.title = "Tëst \"stream\"";
  return s;
}

std::string frame_of(const std::vector<std::string>& elements, const std::string& agent = "rig-1") {
  std::string out = R"({"frame":1,"agent":")" + agent + R"(","samples":[)";
  for (std::size_t i = 0; i < elements.size(); ++i) out += (i ? "," : "") + elements[i];
  return out + "]}";
}

std::string refusal(const std::string& payload) {
  const auto f = decode_frame(payload);
  EXPECT_FALSE(f.ok()) << payload.substr(0, 200);
  return f.ok() ? "" : f.error();
}

TEST(FrameCodec, BuilderOutputDecodesToTheSameSamplesInOrder) {
  FrameBuilder b("rig-1");
  for (std::int64_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(b.add(encode_sample(sample(seq))));
  EXPECT_EQ(b.samples(), 5u);
  const auto expected_bytes = b.bytes();
  const auto payload = b.finish();
  EXPECT_EQ(payload.size(), expected_bytes);
  EXPECT_EQ(b.samples(), 0u);
  const auto f = decode_frame(payload);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->agent, "rig-1");
  ASSERT_EQ(f->entries.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& e = f->entries[i];
    EXPECT_EQ(e.index, i);
    ASSERT_TRUE(e.sample.ok()) << e.sample.error();
    EXPECT_EQ(*e.sample, sample(static_cast<std::int64_t>(i + 1)));
    // Each element carries exactly what the single-sample message would.
    EXPECT_EQ(decode_sample(e.text).value(), *e.sample);
  }
}

TEST(FrameCodec, BuilderNeverExceedsItsBounds) {
  FrameBuilder by_count("rig-1", k_max_frame_bytes, 3);
  for (std::int64_t seq = 1; seq <= 3; ++seq) ASSERT_TRUE(by_count.add(encode_sample(sample(seq))));
  EXPECT_FALSE(by_count.add(encode_sample(sample(4))));
  EXPECT_EQ(by_count.samples(), 3u);

  const auto one = encode_sample(sample(1));
  FrameBuilder by_bytes("rig-1", 1000);
  std::size_t added = 0;
  while (by_bytes.add(one)) ++added;
  EXPECT_GT(added, 0u);
  EXPECT_LE(by_bytes.bytes(), 1000u);
  EXPECT_GT(by_bytes.bytes() + one.size() + 1, 1000u);
  EXPECT_EQ(by_bytes.finish().size() <= 1000u, true);

  // Bounds above the contract's are clamped to it.
  FrameBuilder huge("rig-1", 10 * k_max_frame_bytes, 10 * k_max_frame_samples);
  std::size_t n = 0;
  while (huge.add(one)) ++n;
  EXPECT_LE(n, k_max_frame_samples);
  EXPECT_LE(huge.bytes(), k_max_frame_bytes);
  const auto f = decode_frame(huge.finish());
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->entries.size(), n);
}

// A publisher building frame after frame allocates no buffer per frame: finish_into hands
// the payload over and keeps `out`'s previous buffer for the next frame.
TEST(FrameCodec, FinishIntoReusesTheBuffersOfEarlierFrames) {
  FrameBuilder b("rig-1");
  std::string out;
  std::vector<const char*> buffers;
  for (std::int64_t round = 0; round < 4; ++round) {
    for (std::int64_t seq = 1; seq <= 50; ++seq) {
      ASSERT_TRUE(b.add(encode_sample(sample(100 * round + seq))));
    }
    const auto expected_bytes = b.bytes();
    b.finish_into(out);
    EXPECT_EQ(out.size(), expected_bytes);
    EXPECT_EQ(b.samples(), 0u);
    const auto f = decode_frame(out);
    ASSERT_TRUE(f.ok()) << f.error();
    ASSERT_EQ(f->entries.size(), 50u);
    EXPECT_EQ(*f->entries.front().sample, sample(100 * round + 1));
    buffers.push_back(out.data());
  }
  EXPECT_EQ(buffers[2], buffers[0]);
  EXPECT_EQ(buffers[3], buffers[1]);
}

TEST(FrameCodec, ClearDropsWhatWasAddedSinceTheLastFrame) {
  FrameBuilder b("rig-1");
  ASSERT_TRUE(b.add(encode_sample(sample(1))));
  b.clear();
  EXPECT_EQ(b.samples(), 0u);
  ASSERT_TRUE(b.add(encode_sample(sample(2))));
  ASSERT_TRUE(b.add(encode_sample(sample(3))));
  const auto f = decode_frame(b.finish());
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->entries.size(), 2u);
  EXPECT_EQ(*f->entries[0].sample, sample(2));
}

TEST(FrameCodec, BuilderRefusesASampleThatCannotFitEvenAlone) {
  FrameBuilder b("rig-1", 100);
  EXPECT_FALSE(b.add(encode_sample(sample(1))));
  EXPECT_EQ(b.samples(), 0u);
}

TEST(FrameCodec, RefusesWholeFramesWithOneReason) {
  const auto ok = encode_sample(sample(1));
  std::string too_large = frame_of({ok});
  too_large.insert(too_large.size() - 2, std::string(k_max_frame_bytes, ' '));
  EXPECT_EQ(refusal(too_large), "frame: payload too large: " + std::to_string(too_large.size()) +
                                    " bytes (limit 262144)");
  const auto whole = frame_of({ok, encode_sample(sample(2))});
  EXPECT_EQ(refusal(whole.substr(0, whole.size() / 2)).rfind("frame: invalid JSON at byte ", 0),
            0u);
  EXPECT_EQ(refusal(std::string("{\"frame\":1\0}", 12)), "frame: invalid JSON at byte 11");
  EXPECT_EQ(refusal("[1,2]"), "frame: expected a JSON object, got array");
  EXPECT_EQ(refusal(R"({"agent":"rig-1","samples":[)" + ok + "]}"),
            "frame: missing required field \"frame\"");
  EXPECT_EQ(refusal(R"({"frame":2,"agent":"rig-1","samples":[)" + ok + "]}"),
            "frame: field \"frame\": unsupported version 2 (expected 1)");
  EXPECT_EQ(refusal(R"({"frame":"1","agent":"rig-1","samples":[)" + ok + "]}"),
            "frame: field \"frame\": expected an integer, got string");
  EXPECT_EQ(refusal(R"({"frame":1,"samples":[)" + ok + "]}"),
            "frame: missing required field \"agent\"");
  EXPECT_EQ(refusal(R"({"frame":1,"agent":"","samples":[)" + ok + "]}"),
            "frame: field \"agent\": must not be empty");
  EXPECT_EQ(refusal(R"({"frame":1,"agent":"rig-1"})"), "frame: missing required field \"samples\"");
  EXPECT_EQ(refusal(R"({"frame":1,"agent":"rig-1","samples":{}})"),
            "frame: field \"samples\": expected an array, got object");
  EXPECT_EQ(refusal(frame_of({})),
            "frame: field \"samples\": empty (a frame carries at least one sample)");
  EXPECT_EQ(refusal(frame_of(std::vector<std::string>(k_max_frame_samples + 1, "{}"))),
            "frame: field \"samples\": too many: 1001 (limit 1000)");
}

TEST(FrameCodec, RefusesOneElementAndKeepsTheOthers) {
  auto other_version = encode_sample(sample(4));
  other_version.replace(other_version.find("\"schema\":1"), 10, "\"schema\":2");
  const auto payload = frame_of({
      encode_sample(sample(1)),
      "17",
      R"({"schema":1,"agent":"rig-1"})",
      other_version,
      encode_sample(sample(5, "intruder")),
      encode_sample(sample(1)),
      encode_sample(sample(7)),
  });
  const auto f = decode_frame(payload);
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->entries.size(), 7u);
  const auto reason = [&](std::size_t i) {
    return f->entries[i].sample.ok() ? std::string("accepted") : f->entries[i].sample.error();
  };
  EXPECT_EQ(reason(0), "accepted");
  EXPECT_EQ(reason(1), "expected a JSON object, got integer");
  EXPECT_EQ(reason(2), "missing required field \"seq\"");
  EXPECT_EQ(reason(3), "field \"schema\": unsupported version 2 (expected 1)");
  EXPECT_EQ(reason(4), "agent \"intruder\" is not the frame's agent \"rig-1\"");
  EXPECT_EQ(reason(5), "seq 1 repeats samples[0]");
  EXPECT_EQ(reason(6), "accepted");
  EXPECT_EQ(*f->entries[6].sample, sample(7));
  EXPECT_EQ(f->entries[1].text, "17");
  // The element's own bytes, as stored with its reject.
  EXPECT_EQ(decode_sample(f->entries[4].text).value(), sample(5, "intruder"));
  EXPECT_EQ(f->entries[2].text, R"({"schema":1,"agent":"rig-1"})");
}

// Each element is read where it lies in the frame: its text is exactly its bytes, whatever the
// whitespace, escapes or kind of value around it, and it alone decodes to the same verdict.
TEST(FrameCodec, EachElementIsItsOwnBytesAndDecodesAloneToTheSameVerdict) {
  const auto one = encode_sample(sample(1));
  const std::string spaced =
      "{ \"schema\" : 1 ,\n \"agent\":\"rig-1\", \"seq\":2,"
      "\"ts\":\"2026-11-25T01:00:00.002Z\",\"platform\":\"nginx_rtmp\","
      "\"channel\":\"live/main\",\"live\":true,\"viewers\":2,"
      "\"title\":\"T\\u00ebst \\\"stream\\\"\" }";
  const std::vector<std::string> elements = {
      one,
      "12",
      "-0.5e3",
      "\"text, with ] and }\"",
      "true",
      "null",
      "[1,[2,{\"a\":3}]]",
      "{}",
      spaced,
      R"({"schema":1,"agent":"rig-1","seq":3,"title":{"nested":[1,2]}})",
      "7"};
  std::string payload = R"({"frame":1, "agent":"rig-1", "samples":[ )";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    payload += (i ? " ,\n " : "") + elements[i];
  }
  payload += " ] }";
  const auto f = decode_frame(payload);
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->entries.size(), elements.size());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const auto& e = f->entries[i];
    EXPECT_EQ(e.text, elements[i]) << i;
    const auto alone = decode_sample(e.text);
    ASSERT_EQ(alone.ok(), e.sample.ok()) << i;
    if (alone.ok()) {
      EXPECT_EQ(*alone, *e.sample) << i;
    } else {
      EXPECT_EQ(alone.error(), e.sample.error()) << i;
    }
  }
  EXPECT_EQ(*f->entries[8].sample, sample(2));
  EXPECT_EQ(f->entries[2].sample.error(), "expected a JSON object, got number");
  EXPECT_EQ(f->entries[9].sample.error(), "missing required field \"ts\"");
}

// As in a parsed tree, a member named twice counts once, the later one, however it is spelled.
TEST(FrameCodec, TheLaterOfTwoMembersOfTheSameNameCounts) {
  const auto one = encode_sample(sample(1));
  const auto two = encode_sample(sample(2));
  const auto f = decode_frame(R"({"frame":1,"agent":"rig-1","samples":[)" + one +
                              R"(],"sam\u0070les":[)" + two + "]}");
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->entries.size(), 1u);
  EXPECT_EQ(f->entries[0].text, two);
  EXPECT_EQ(refusal(R"({"frame":1,"agent":"rig-1","samples":[)" + one + R"(],"samples":3})"),
            "frame: field \"samples\": expected an array, got integer");
  EXPECT_EQ(refusal(R"({"frame":1,"agent":"rig-1","samples":[)" + one + R"(],"frame":2})"),
            "frame: field \"frame\": unsupported version 2 (expected 1)");
  auto twice = one;
  twice.insert(twice.size() - 1, R"(,"viewers":"many")");
  const auto g = decode_frame(frame_of({twice}));
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->entries[0].sample.error(), "field \"viewers\": expected an integer, got string");
}

TEST(FrameCodec, AnElementLargerThanASingleSampleMessageIsRefusedAlone) {
  auto big = sample(2);
  big.title = std::string(4096, 't');
  std::string element = encode_sample(big);
  // Padding inside the element: valid JSON, over the single-sample limit once re-encoded.
  element.insert(element.size() - 1, ",\"pad\":\"" + std::string(k_max_payload_bytes, 'p') + "\"");
  const auto f = decode_frame(frame_of({encode_sample(sample(1)), element}));
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->entries.size(), 2u);
  EXPECT_TRUE(f->entries[0].sample.ok());
  EXPECT_EQ(
      f->entries[1].sample.error(),
      "payload too large: " + std::to_string(f->entries[1].text.size()) + " bytes (limit 65536)");
  EXPECT_EQ(f->entries[1].sample.error(), decode_sample(f->entries[1].text).error());
}

TEST(FrameCodec, HostileElementsAreRefusedAlone) {
  const std::string nested = std::string(60, '[') + std::string(60, ']');
  const auto f = decode_frame(frame_of({nested, "null", encode_sample(sample(2))}));
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->entries.size(), 3u);
  EXPECT_EQ(f->entries[0].sample.error(), "expected a JSON object, got array");
  EXPECT_EQ(f->entries[1].sample.error(), "expected a JSON object, got null");
  EXPECT_TRUE(f->entries[2].sample.ok());
  EXPECT_FALSE(decode_frame("").ok());
  EXPECT_FALSE(decode_frame(frame_of({encode_sample(sample(1))}, "a\\u0000b")).ok());
}

// Nesting is refused before anything walks the tree: writing an element back out (its reject
// text) recurses once per level, and 120,000 levels (240 KB, inside the frame limit) took about
// 13 MB of stack, beyond a thread's 8 MB: the collector died on such a frame.
TEST(FrameCodec, AFrameNestedBeyondTheLimitIsRefusedWholeWithoutRecursingIntoIt) {
  const std::string deep = std::string(120'000, '[') + std::string(120'000, ']');
  const auto in_element = decode_frame(frame_of({deep, encode_sample(sample(2))}));
  ASSERT_FALSE(in_element.ok());
  EXPECT_EQ(in_element.error(), "frame: nesting deeper than 64 levels");
  const auto in_sample =
      decode_frame(frame_of({R"({"schema":1,"agent":"rig","seq":1,"title":)" + deep + "}"}));
  ASSERT_FALSE(in_sample.ok());
  EXPECT_EQ(in_sample.error(), "frame: nesting deeper than 64 levels");
  // Brackets inside strings are text, not nesting.
  auto titled = sample(3);
  titled.title = std::string(1'000, '[');
  const auto f = decode_frame(frame_of({encode_sample(titled)}));
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(f->entries[0].sample.ok()) << f->entries[0].sample.error();
}

}  // namespace
}  // namespace streamtrack::wire
