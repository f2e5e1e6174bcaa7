// The IRC line parser on arbitrary bytes: no crash, no throw; a parsed line has a command.
#include <cstddef>
#include <cstdint>

#include "agent/chat/irc_message.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streamtrack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto line = fuzz::as_text(data, size);
  if (const auto message = agent::chat::parse_irc_line(line)) {
    FUZZ_CHECK(!message->command.empty(), "a parsed line has no command");
    (void)message->nick();
    if (!message->params.empty()) (void)agent::chat::channel_key(message->params.front());
  }
  return 0;
}
