#pragma once
// Removing secrets from text before it is logged or exported: the userinfo of URLs
// ("https://user:pw@host" -> "https://[REDACTED]@host"), bearer/basic credentials
// ("Bearer abc" -> "Bearer [REDACTED]"), and the values of key=value / key: value / "key":"value"
// pairs whose key names a secret (password, passwd, secret, token, api_key, apikey, api-key,
// authorization, cookie; case-insensitive). Linear in the input; no allocation when nothing
// matches.

#include <string>
#include <string_view>

namespace minion::logging {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// True when `key` names a secret (see above); used for field keys too.
bool IsSecretKey(std::string_view key);

// Returns `text` with secrets replaced by kRedacted. Sets *changed when given.
std::string RedactSecrets(std::string_view text, bool* changed = nullptr);
// Appends the redacted `text` to `out` and returns true when there was something to redact;
// otherwise returns false and leaves `out` as it was (the no-allocation path).
bool RedactSecretsTo(std::string_view text, std::string& out);

}  // namespace minion::logging
