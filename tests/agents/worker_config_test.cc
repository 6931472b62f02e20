// Workers declared in a file (agents/worker_config.h) and external tools declared in YAML
// (agents/external_tool.h): the parsers on good files and on each kind of bad one, and the
// workers they build, run through a real tool loop with a scripted in-process model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "minion/agents/external_tool.h"
#include "minion/agents/worker_config.h"
#include "minion/common/json.h"
#include "minion/storage/memory_storage.h"
#include "minion/tools/tool.h"
#include "support/tracing_rig.h"

namespace minion::agents {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ErrorOf(std::string_view yaml) {
  auto r = ParseWorkersYaml(yaml, "w.yaml");
  if (r.ok()) return "(parsed)";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  return r.status().message();
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("minion_worker_config_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(WorkerConfigTest, ExampleFileParsesAndItsCommandIsNextToIt) {
  const fs::path file = fs::path(MINION_SOURCE_DIR) / "examples" / "workers.yaml";
  auto specs = LoadWorkersFile(file);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 4u);
  const WorkerSpec& coder = (*specs)[0];
  EXPECT_EQ(coder.name, "coder-1");
  EXPECT_EQ(coder.kind, BuiltinKind::kCoder);
  EXPECT_THAT(coder.capabilities, ElementsAre("code_generation", "debugging", "refactoring"));
  ASSERT_TRUE(coder.tools.has_value());
  EXPECT_THAT(*coder.tools, ElementsAre("write_file", "read_file", "storage_insert", "calculator"));
  EXPECT_EQ(coder.concurrency, 2);
  const WorkerSpec& analyst = (*specs)[2];
  EXPECT_EQ(analyst.provider, "offline");
  EXPECT_EQ(analyst.model, "offline-analyst-2");
  ASSERT_TRUE(analyst.tools.has_value());
  EXPECT_TRUE(analyst.tools->empty());
  const WorkerSpec& notes = (*specs)[3];
  EXPECT_FALSE(notes.kind.has_value());
  EXPECT_THAT(notes.capabilities, ElementsAre("release_notes"));
  EXPECT_EQ(notes.timeout, std::chrono::milliseconds(10000));
  ASSERT_EQ(notes.command.size(), 1u);
  // ./workers/release_notes.sh resolved against the file's folder, whatever our cwd is.
  const fs::path script = notes.command[0];
  EXPECT_TRUE(script.is_absolute()) << script;
  EXPECT_TRUE(fs::equivalent(
      script, fs::path(MINION_SOURCE_DIR) / "examples" / "workers" / "release_notes.sh"));
}

TEST(WorkerConfigTest, DefaultsFillNamesCapabilitiesAndConcurrency) {
  auto specs = ParseWorkersYaml(R"(
workers:
  - kind: writer
  - name: coder-1
    kind: coder
  - kind: coder
  - command: [helper, "1"]
    capabilities: [x]
)",
                                "w.yaml", "/base");
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 4u);
  EXPECT_EQ((*specs)[0].name, "writer-1");
  EXPECT_EQ((*specs)[0].capabilities, BuiltinCapabilities(BuiltinKind::kWriter));
  EXPECT_EQ((*specs)[0].concurrency, 4);
  EXPECT_EQ((*specs)[0].priority, 5);
  EXPECT_FALSE((*specs)[0].tools.has_value());
  EXPECT_TRUE((*specs)[0].provider.empty());
  // The explicit coder-1 keeps its name; the unnamed coder does not take it again.
  EXPECT_EQ((*specs)[1].name, "coder-1");
  EXPECT_EQ((*specs)[2].name, "coder-2");
  EXPECT_EQ((*specs)[3].name, "external-1");
  // A bare program name stays a PATH lookup; only paths with '/' are made relative to the file.
  EXPECT_THAT((*specs)[3].command, ElementsAre("helper", "1"));
}

TEST(WorkerConfigTest, JsonFormIsTheSameSchema) {
  TempDir dir;
  const fs::path file = dir.Write("workers.json", R"({"workers": [
      {"name": "a", "kind": "analyst", "model": "m-1", "concurrency": 3, "priority": 9},
      {"name": "b", "command": ["./run.sh"], "capabilities": ["c1", "c2"], "timeout_ms": 500}]})");
  auto specs = LoadWorkersFile(file);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].model, "m-1");
  EXPECT_EQ((*specs)[0].concurrency, 3);
  EXPECT_EQ((*specs)[0].priority, 9);
  EXPECT_EQ((*specs)[1].command[0], (dir.path() / "run.sh").string());
  EXPECT_EQ((*specs)[1].timeout, std::chrono::milliseconds(500));
  // The same file named .yaml, and a JSON text in a file with another extension, parse too.
  EXPECT_TRUE(LoadWorkersFile(dir.Write("workers.yaml", "workers: [{kind: coder}]")).ok());
  EXPECT_TRUE(
      LoadWorkersFile(dir.Write("workers.conf", R"( {"workers": [{"kind": "coder"}]})")).ok());
  // A JSON error is reported by the JSON parser, with the file named.
  auto bad = LoadWorkersFile(dir.Write("bad.json", R"({"workers": [)"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.json"));
}

TEST(WorkerConfigTest, EachErrorNamesTheFileTheEntryAndTheField) {
  EXPECT_THAT(ErrorOf("workers:\n  - kind: coder\n    toolz: [calculator]\n"),
              HasSubstr("w.yaml: workers[0]: 'toolz' is not a known key (known: name, kind"));
  EXPECT_THAT(ErrorOf("workers:\n  - name: c\n    kind: coder\n    concurrency: two\n"),
              HasSubstr("w.yaml: workers[0] (c): 'concurrency' must be an integer from 1 to 256"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, concurrency: 0}\n"),
              HasSubstr("'concurrency' must be an integer"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, concurrency: 257}\n"),
              HasSubstr("'concurrency' must be an integer"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, priority: 11}\n"),
              HasSubstr("'priority' must be an integer from 1 to 10"));
  EXPECT_THAT(ErrorOf("workers:\n  - {name: c, kind: coder, capabilities: []}\n"),
              HasSubstr("workers[0] (c): 'capabilities' is empty"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, capabilities: code_generation}\n"),
              HasSubstr("'capabilities' must be a list of strings, not string"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, capabilities: [a, a]}\n"),
              HasSubstr("lists \"a\" twice"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, tools: [calculator, 7]}\n"),
              HasSubstr("'tools' [1] must be a string, not number"));
  EXPECT_THAT(ErrorOf("workers:\n  - {name: x, command: [a]}\n"),
              HasSubstr("workers[0] (x): 'capabilities' is missing (a command worker"));
  EXPECT_THAT(ErrorOf("workers:\n  - {name: x, kind: coder}\n  - {name: x, kind: writer}\n"),
              HasSubstr("w.yaml: workers[1]: the name \"x\" is used by an earlier worker"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, command: [a], capabilities: [c]}\n"),
              HasSubstr("'command' and 'kind' are both given"));
  EXPECT_THAT(ErrorOf("workers:\n  - {capabilities: [c]}\n"),
              HasSubstr("'kind' is missing (give 'kind'"));
  EXPECT_THAT(
      ErrorOf("workers:\n  - {kind: poet}\n"),
      HasSubstr(
          "'kind' \"poet\" is unknown; use one of coder, analyst, researcher, writer, reviewer"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, provider: anthropic}\n"),
              HasSubstr("'provider' \"anthropic\" is unknown; use one of offline, openai"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, model: \"\"}\n"), HasSubstr("'model' is empty"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, model: [a]}\n"),
              HasSubstr("'model' must be a string, not array"));
  EXPECT_THAT(ErrorOf("workers:\n  - {command: [a], capabilities: [c], model: m}\n"),
              HasSubstr("'model' applies to a 'kind' worker"));
  EXPECT_THAT(ErrorOf("workers:\n  - {command: [a], capabilities: [c], tools: [calculator]}\n"),
              HasSubstr("'tools' applies to a 'kind' worker"));
  EXPECT_THAT(ErrorOf("workers:\n  - {kind: coder, timeout_ms: 5}\n"),
              HasSubstr("'timeout_ms' applies to a 'command'"));
  EXPECT_THAT(ErrorOf("workers:\n  - {command: [], capabilities: [c]}\n"),
              HasSubstr("'command' is empty"));
  EXPECT_THAT(ErrorOf("workers:\n  - {command: [sleep, 1], capabilities: [c]}\n"),
              HasSubstr("'command' [1] must be a string, not number (in YAML, quote numbers"));
  EXPECT_THAT(ErrorOf("workers:\n  - {name: \"a b\", kind: coder}\n"),
              HasSubstr("'name' must be 1 to 64 characters"));
  EXPECT_THAT(ErrorOf("workers:\n  - coder\n"),
              HasSubstr("w.yaml: workers[0] must be a mapping, not string"));
  EXPECT_THAT(ErrorOf("workers: []\n"), HasSubstr("w.yaml: 'workers' is empty"));
  EXPECT_THAT(ErrorOf("workers: {kind: coder}\n"), HasSubstr("'workers' must be a list"));
  EXPECT_THAT(ErrorOf("worker:\n  - {kind: coder}\n"),
              HasSubstr("w.yaml: unknown top-level key 'worker'"));
  EXPECT_THAT(ErrorOf("- {kind: coder}\n"), HasSubstr("expected a mapping with a 'workers' list"));
  EXPECT_THAT(ErrorOf("workers: [kind: coder\n"), HasSubstr("w.yaml is not valid YAML"));
}

TEST(WorkerConfigTest, InputIsBounded) {
  std::string many = "workers:\n";
  for (std::size_t i = 0; i <= kMaxConfiguredWorkers; ++i) many += "  - {kind: coder}\n";
  EXPECT_THAT(ErrorOf(many), HasSubstr("65 workers, more than the 64 allowed"));
  // An alias bomb: nine levels of nine references is 9^9 nodes once expanded.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + "," + p + "," + p +
            "," + p + "," + p + "," + p + "," + p + "," + p + "," + p + "]\n";
  }
  bomb += "workers: [{kind: coder}]\n";
  EXPECT_THAT(ErrorOf(bomb), HasSubstr("aliases are expanded; is it an alias bomb?"));
  std::string deep = "workers: " + std::string(100, '[') + std::string(100, ']') + "\n";
  EXPECT_THAT(ErrorOf(deep), HasSubstr("nests deeper than 64 levels"));
  TempDir dir;
  const fs::path big =
      dir.Write("big.yaml", "workers: [{kind: coder}]\n#" + std::string(kMaxWorkersFileBytes, 'x'));
  auto r = LoadWorkersFile(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("big.yaml is larger than 1048576 bytes"));
  EXPECT_EQ(LoadWorkersFile(dir.path() / "missing.yaml").status().code(), StatusCode::kNotFound);
}

// A model that asks for write_file first, whatever it was offered, then answers with what the
// tool said. In-process: the only part here that stands in for a remote service.
class PushyModel final : public llm::Provider {
 public:
  explicit PushyModel(std::string model) : model_(std::move(model)) {}
  std::string Name() const override { return "scripted"; }
  std::string DefaultModel() const override { return model_; }
  Result<llm::ChatResponse> Chat(const trace::Context&, const llm::ChatRequest& request) override {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    llm::ChatResponse response;
    response.model = model_;
    if (request.messages.back().role != "tool") {
      response.finish_reason = "tool_calls";
      response.tool_calls.push_back(
          {"call-1", "write_file", R"({"path": "x.txt", "content": "hi"})"});
    } else {
      response.finish_reason = "stop";
      response.content = "tool said: " + request.messages.back().content;
    }
    return response;
  }
  std::vector<llm::ChatRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::string model_;
  mutable std::mutex mu_;
  std::vector<llm::ChatRequest> requests_;
};

class BuildWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tools_ = std::make_shared<WorkerTools>();
    tools_->workspace_base = dir_.path() / "ws";
    tools_->storage = std::make_shared<storage::MemoryStorage>();
    tools_->tracer = rig_.tracer;
    context_.default_provider = std::make_shared<PushyModel>("default-model");
    context_.tools = tools_;
    context_.options.tracer = rig_.tracer;
    context_.source = "w.yaml";
    context_.make_provider =
        [this](const std::string& provider,
               const std::string& model) -> Result<std::shared_ptr<llm::Provider>> {
      made_.emplace_back(provider, model);
      if (model == "broken") return UnavailableError("no such endpoint");
      auto p = std::make_shared<PushyModel>(model);
      last_made_ = p;
      return std::shared_ptr<llm::Provider>(p);
    };
  }
  Result<std::vector<std::shared_ptr<Worker>>> Build(std::string_view yaml) {
    auto specs = ParseWorkersYaml(yaml, "w.yaml");
    if (!specs.ok()) return specs.status();
    return BuildConfiguredWorkers(*specs, context_);
  }
  TempDir dir_;
  minion::testing::TracingRig rig_;
  std::shared_ptr<WorkerTools> tools_;
  WorkerBuildContext context_;
  std::vector<std::pair<std::string, std::string>> made_;
  std::shared_ptr<PushyModel> last_made_;
};

TEST_F(BuildWorkersTest, WorkersCarryTheFilesMetadata) {
  auto workers = Build(R"(
workers:
  - {name: w1, kind: writer, priority: 8, concurrency: 2}
  - {name: ext, command: [cat], capabilities: [echo, copy]}
)");
  ASSERT_TRUE(workers.ok()) << workers.status().ToString();
  ASSERT_EQ(workers->size(), 2u);
  WorkerMetadata w1 = (*workers)[0]->metadata();
  EXPECT_EQ(w1.agent_id, "w1");
  EXPECT_EQ(w1.role, "writer");
  EXPECT_EQ(w1.priority, 8);
  EXPECT_EQ(w1.capabilities, BuiltinCapabilities(BuiltinKind::kWriter));
  WorkerMetadata ext = (*workers)[1]->metadata();
  EXPECT_EQ(ext.role, "external");
  EXPECT_THAT(ext.capabilities, ElementsAre("echo", "copy"));
  EXPECT_TRUE(made_.empty()) << "no provider is made for workers that name none";
  // The command worker really runs its program: cat hands the subtask JSON straight back.
  Subtask subtask;
  subtask.subtask_id = "s1";
  subtask.capability = "echo";
  subtask.name = "copy me";
  auto out = (*workers)[1]->Handle({}, subtask);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["name"], "copy me");
}

TEST_F(BuildWorkersTest, ProviderAndModelPerWorker) {
  auto workers =
      Build("workers:\n  - {kind: analyst, provider: openai, model: big-1}\n  - {kind: writer}\n");
  ASSERT_TRUE(workers.ok()) << workers.status().ToString();
  ASSERT_EQ(made_.size(), 1u);
  EXPECT_EQ(made_[0], std::make_pair(std::string("openai"), std::string("big-1")));
  auto failed = Build(
      "workers:\n  - {name: a, kind: analyst, model: m}\n  - {name: b, kind: coder, provider: "
      "vllm, model: broken}\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().ToString(), HasSubstr("w.yaml: workers[1] (b)"));
  EXPECT_THAT(failed.status().ToString(), HasSubstr("no such endpoint"));
}

TEST_F(BuildWorkersTest, UnknownToolIsAnErrorNamingTheOffered) {
  auto workers = Build("workers:\n  - {name: c, kind: coder, tools: [calculator, http_get]}\n");
  ASSERT_FALSE(workers.ok());
  EXPECT_EQ(workers.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(
      workers.status().message(),
      HasSubstr("w.yaml: workers[0] (c): 'tools' names \"http_get\", which this run does not offer "
                "(write_file, read_file, calculator, storage_insert, storage_get, storage_query;"));
  context_.tools = nullptr;
  auto none = Build("workers:\n  - {name: c, kind: coder, tools: [calculator]}\n");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("this run offers no tools (--no-tools)"));
}

TEST_F(BuildWorkersTest, RestrictedWorkerCannotCallOtherTools) {
  auto workers =
      Build("workers:\n  - {name: c, kind: coder, model: pushy-2, tools: [calculator]}\n");
  ASSERT_TRUE(workers.ok()) << workers.status().ToString();
  Subtask subtask;
  subtask.task_id = "task-1";
  subtask.subtask_id = "s1";
  subtask.capability = "code_generation";
  subtask.name = "write a file";
  auto out = (*workers)[0]->Handle({}, subtask);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_NE(last_made_, nullptr);
  auto requests = last_made_->requests();
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(requests[0].tools.size(), 1u);  // only what the file allows is offered
  EXPECT_EQ(requests[0].tools[0].name, "calculator");
  // The call to write_file went back to the model as an error, and nothing was written.
  EXPECT_THAT(requests[1].messages.back().content, HasSubstr("unknown tool \\\"write_file\\\""));
  EXPECT_EQ((*out)["tool_calls"], json::parse(R"([{"name": "write_file", "ok": false}])"));
  EXPECT_EQ((*out)["model"], "pushy-2");
  EXPECT_FALSE(fs::exists(dir_.path() / "ws" / "task-1" / "x.txt"));
  EXPECT_TRUE(rig_.SpansNamed("tool.write_file").empty());
  // The same model, unrestricted, may write the file: the refusal above came from the file.
  auto open = Build("workers:\n  - {name: c, kind: coder, model: pushy-2}\n");
  ASSERT_TRUE(open.ok());
  auto wrote = (*open)[0]->Handle({}, subtask);
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  EXPECT_EQ((*wrote)["tool_calls"], json::parse(R"([{"name": "write_file", "ok": true}])"));
  EXPECT_TRUE(fs::exists(dir_.path() / "ws" / "task-1" / "x.txt"));
  EXPECT_EQ(rig_.SpansNamed("tool.write_file").size(), 1u);
}

TEST_F(BuildWorkersTest, EmptyToolListMeansModelOnly) {
  auto workers = Build("workers:\n  - {name: c, kind: coder, model: pushy-3, tools: []}\n");
  ASSERT_TRUE(workers.ok()) << workers.status().ToString();
  Subtask subtask;
  subtask.task_id = "task-2";
  subtask.capability = "code_generation";
  subtask.name = "anything";
  auto out = (*workers)[0]->Handle({}, subtask);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // No tools offered: the pushy model's tool call is the answer's finish, no loop ran.
  ASSERT_EQ(last_made_->requests().size(), 1u);
  EXPECT_TRUE(last_made_->requests()[0].tools.empty());
  EXPECT_FALSE(out->contains("tool_calls"));
}

// External tools in YAML: the same schema as JSON, the same bounded loader.
TEST(ExternalToolsYamlTest, YamlAndJsonDeclareTheSameTools) {
  const char* yaml = R"(
# comments are allowed in YAML
tools:
  - name: word_count
    description: Counts the words of a text
    command: [wc, -w]
    parameters:
      type: object
      properties: {text: {type: string}}
      required: [text]
    timeout_ms: 5000
    max_output_bytes: 65536
)";
  const char* json_text =
      R"({"tools": [{"name": "word_count", "description": "Counts the words of a text",
      "command": ["wc", "-w"],
      "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
      "timeout_ms": 5000, "max_output_bytes": 65536}]})";
  auto from_yaml = ParseExternalToolsYaml(yaml);
  auto from_json = ParseExternalTools(json_text);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status().ToString();
  ASSERT_TRUE(from_json.ok()) << from_json.status().ToString();
  ASSERT_EQ(from_yaml->size(), 1u);
  const ExternalToolSpec& a = (*from_yaml)[0];
  const ExternalToolSpec& b = (*from_json)[0];
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_EQ(a.timeout, b.timeout);
  EXPECT_EQ(a.max_output_bytes, b.max_output_bytes);
}

TEST(ExternalToolsYamlTest, LoadPicksTheFormAndTheToolRuns) {
  TempDir dir;
  const fs::path file =
      dir.Write("tools.yaml", "tools:\n  - name: echo_args\n    command: [cat]\n");
  auto specs = LoadExternalTools(file);
  ASSERT_TRUE(specs.ok()) << specs.status().ToString();
  ASSERT_EQ(specs->size(), 1u);
  auto tool = MakeExternalTool(std::move((*specs)[0]));
  auto out = tool->Invoke({}, json{{"text", "hello"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(json::parse((*out)["output"].get<std::string>())["text"], "hello");
  // No extension: JSON by its first byte, YAML otherwise.
  EXPECT_TRUE(
      LoadExternalTools(dir.Write("t1", R"({"tools": [{"name": "a", "command": ["cat"]}]})")).ok());
  EXPECT_TRUE(LoadExternalTools(dir.Write("t2", "tools: [{name: a, command: [cat]}]")).ok());
}

TEST(ExternalToolsYamlTest, MalformedYamlIsAClearError) {
  auto err = [](const std::string& text) {
    return ParseExternalToolsYaml(text).status().message();
  };
  EXPECT_THAT(err("tools: [name: a\n"), HasSubstr("external tools is not valid YAML"));
  EXPECT_THAT(err("tools:\n  - {name: a, command: [sleep, 5]}\n"),
              HasSubstr("tools[0] (a).command must hold only strings (in YAML, quote numbers"));
  EXPECT_THAT(err("tools:\n  - {name: a, command: [cat], timeout: 5}\n"),
              HasSubstr("tools[0] (a): unknown key 'timeout'"));
  EXPECT_THAT(err("tools:\n  - {name: a, command: [cat], parameters: {type: string}}\n"),
              HasSubstr("(a).parameters must be a JSON schema"));
  EXPECT_THAT(err("tool:\n  - {name: a, command: [cat]}\n"),
              HasSubstr("expected {\"tools\": [...]}"));
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + "," + p + "," + p +
            "," + p + "," + p + "," + p + "," + p + "," + p + "," + p + "]\n";
  }
  EXPECT_THAT(err(bomb + "tools: []\n"), HasSubstr("is it an alias bomb?"));
  TempDir dir;
  auto named = LoadExternalTools(dir.Write("bad.yml", "tools:\n  - {name: a}\n"));
  ASSERT_FALSE(named.ok());
  EXPECT_THAT(named.status().ToString(), HasSubstr("bad.yml"));
  EXPECT_THAT(named.status().ToString(), HasSubstr("(a).command must be a non-empty array"));
}

}  // namespace
}  // namespace minion::agents
