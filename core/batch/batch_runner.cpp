#include "querylens/batch_runner.h"

#include "batch/image_prefetcher.h"
#include "generate/generator.h"
#include "querylens/batch_generation.h"
#include "querylens/error.h"
#include "querylens/model.h"
#include "querylens/prompts.h"
#include "querylens/result_json.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <set>

namespace querylens {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

const char* taskName(BatchTask task) { return task == BatchTask::Caption ? "caption" : "ask"; }

json sourceJson(const DatasetItem& item)
{
    if (item.inShard())
        return {{"shard", item.path}, {"member", item.member}};
    return {{"file", item.path}};
}

// What makes two runs' results comparable: the lines of one results file all share it.
json modelJson(const ModelInfo& info)
{
    return {{"name", info.name},
            {"language_model", info.languageModel},
            {"precision", precisionName(info.precision)},
            {"random_weights", info.isDemo}};
}

std::string captionPromptOf(const Model& model, const BatchSettings& settings)
{
    return settings.prompt ? *settings.prompt : model.captionPrompt();
}

// The lines a batch writes share these fields.
// (Fields in the order written, key first, so that the lines read well.)
class LineWriter {
public:
    using Line = nlohmann::ordered_json;

    LineWriter(const Model& model, const BatchSettings& settings, ResultsLog& log)
        : settings_(settings), log_(log), model_(modelJson(model.info())), decoding_(decodingJson(settings.decoding)),
          captionPrompt_(captionPromptOf(model, settings))
    {
    }

    Line base(const DatasetItem& item) const
    {
        Line line = {{"key", item.key}, {"source", sourceJson(item)}, {"task", taskName(settings_.task)}};
        if (settings_.shard)
            line["shard"] = {{"index", settings_.shard->index}, {"count", settings_.shard->count}};
        return line;
    }

    void error(const DatasetItem& item, const std::string& message)
    {
        Line line = base(item);
        line["error"] = message;
        line["model"] = model_;
        log_.append(line.dump());
    }

    void result(const DatasetItem& item, const RgbImage& image, const std::string& prompt, const std::string& question,
                const GenerationResult& result, double loadMs, double encodeMs, double generateMs, std::size_t batchSize)
    {
        Line line = base(item);
        line["prompt"] = prompt;
        if (settings_.task == BatchTask::Ask)
            line["question"] = question;
        const GeneratedSequence& best = result.sequences.front();
        line["text"] = best.text;
        line["token_ids"] = best.ids;
        line["stop_reason"] = stopReasonName(result.stopReason);
        if (result.sequences.size() > 1) {
            Line sequences = Line::array();
            for (const auto& sequence : result.sequences)
                sequences.push_back({{"text", sequence.text}, {"token_ids", sequence.ids}, {"score", sequence.score}});
            line["sequences"] = sequences;
        }
        if (settings_.tokenProbabilities) {
            Line tokens = Line::array();
            for (const auto& token : best.tokens)
                tokens.push_back(Line(tokenJson(token)));
            line["tokens"] = tokens;
        }
        line["image"] = {{"width", image.width}, {"height", image.height}};
        line["model"] = model_;
        line["decoding"] = decoding_;
        line["timings_ms"] = {{"load", loadMs}, {"image_encode", encodeMs}, {"generate", generateMs}};
        line["batch_size"] = batchSize;
        log_.append(line.dump());
    }

    const json& model() const { return model_; }
    const json& decoding() const { return decoding_; }
    const std::string& captionPrompt() const { return captionPrompt_; }

private:
    const BatchSettings& settings_;
    ResultsLog& log_;
    json model_;
    json decoding_;
    std::string captionPrompt_;
};

struct Pending {
    batch::PrefetchedImage image;
    std::string prompt;
    std::string question;
    std::shared_ptr<const ImageEncoding> encoding;
    GenerationResult result;
    std::string error;
};

class Runner {
public:
    Runner(const Model& model, const std::vector<DatasetItem>& todo, const BatchSettings& settings, ResultsLog& log,
           const BatchCallbacks& callbacks)
        : model_(model), settings_(settings), log_(log), callbacks_(callbacks), lines_(model, settings, log),
          start_(Clock::now())
    {
        progress_.total = todo.size();
    }

    BatchSummary run(const std::vector<DatasetItem>& todo)
    {
        const std::size_t batchSize = std::size_t(std::max(settings_.batchSize, 1));
        batch::ImagePrefetcher prefetcher(todo, callbacks_.load, settings_.decodeThreads,
                                          2 * batchSize + std::size_t(std::max(settings_.decodeThreads, 1)));
        BatchSummary summary;
        while (true) {
            std::vector<Pending> batch;
            while (batch.size() < batchSize && !cancelled()) {
                auto next = prefetcher.next();
                if (!next)
                    break;
                Pending pending{std::move(*next), {}, {}, nullptr, {}, {}};
                if (pending.image.loaded.error.empty())
                    pending.error = promptFor(pending);
                else
                    pending.error = pending.image.loaded.error;
                if (pending.error.empty())
                    batch.push_back(std::move(pending));
                else
                    writeError(pending);
            }
            if (cancelled()) {
                summary.outcome = BatchOutcome::Cancelled;
                break;
            }
            if (batch.empty())
                break;
            if (!runBatch(batch)) {
                summary.outcome = BatchOutcome::Cancelled;
                break;
            }
            reportProgress();
            if (callbacks_.pause && callbacks_.pause() && progress_.done < progress_.total) {
                summary.outcome = BatchOutcome::Paused;
                break;
            }
        }
        log_.sync();
        reportProgress();
        summary.progress = progress_;
        return summary;
    }

private:
    bool cancelled() const { return callbacks_.cancel && callbacks_.cancel(); }

    // The prompt of an input; an error message when it has none.
    std::string promptFor(Pending& pending) const
    {
        if (settings_.task == BatchTask::Caption) {
            pending.prompt = lines_.captionPrompt();
            return {};
        }
        const auto it = settings_.questions.find(pending.image.item.key);
        pending.question = it != settings_.questions.end() ? it->second : settings_.question;
        if (pending.question.empty())
            return pending.image.item.key + ": no question for this input (give --question, or a line for its key in --questions)";
        pending.prompt = questionPrompt(pending.question);
        return {};
    }

    void writeError(const Pending& pending)
    {
        lines_.error(pending.image.item, pending.error);
        ++progress_.done;
        ++progress_.errors;
        if (callbacks_.onRecord)
            callbacks_.onRecord({pending.image.item, {}, pending.error, pending.question, pending.image.loadMs, nullptr});
    }

    // Encodes and generates for the batch, then writes its lines. False when it was cancelled
    // (nothing of it is written).
    bool runBatch(std::vector<Pending>& batch)
    {
        const auto start = Clock::now();
        auto cancel = [this](double, const std::string&) { return !cancelled(); };
        try {
            // One pass of 257 x B rows through the vision encoder and Q-Former. The pixels move
            // into the call and back (the lines and the window still need them).
            std::vector<RgbImage> images;
            for (auto& pending : batch)
                images.push_back(std::move(pending.image.loaded.image));
            std::vector<std::shared_ptr<const ImageEncoding>> encodings;
            std::exception_ptr failure;
            try {
                encodings = model_.encodeBatch(images, cancel);
            } catch (...) {
                failure = std::current_exception();
            }
            for (std::size_t i = 0; i < batch.size(); ++i)
                batch[i].image.loaded.image = std::move(images[i]);
            if (failure)
                std::rethrow_exception(failure);
            for (std::size_t i = 0; i < batch.size(); ++i)
                batch[i].encoding = encodings[i];
        } catch (const Cancelled&) {
            return false;
        } catch (const Error&) {
            // One image the encoder refuses must not take the batch with it: find which.
            for (auto& pending : batch)
                try {
                    pending.encoding = model_.encode(pending.image.loaded.image, cancel);
                } catch (const Error& e) {
                    pending.error = pending.image.item.key + ": " + e.what();
                } catch (const Cancelled&) {
                    return false;
                }
        }
        const double encodeMs = secondsSince(start) * 1000 / double(batch.size());
        const auto generateStart = Clock::now();

        std::vector<Pending*> ready;
        std::vector<BatchPrompt> prompts;
        for (auto& pending : batch)
            if (pending.error.empty()) {
                ready.push_back(&pending);
                prompts.push_back({pending.encoding, pending.prompt});
            }
        try {
            const auto results = generateBatch(model_, prompts, settings_.decoding, callbacks_.cancel);
            for (std::size_t i = 0; i < ready.size(); ++i)
                ready[i]->result = results[i];
        } catch (const Error&) {
            // A prompt that does not fit the context: run them alone to find which.
            for (std::size_t i = 0; i < ready.size(); ++i)
                try {
                    ready[i]->result = generateBatch(model_, {prompts[i]}, settings_.decoding, callbacks_.cancel).front();
                } catch (const Error& e) {
                    ready[i]->error = ready[i]->image.item.key + ": " + e.what();
                }
        }
        for (const Pending* pending : ready)
            if (pending->error.empty() && pending->result.stopReason == StopReason::Cancelled)
                return false;
        const double generateMs = secondsSince(generateStart) * 1000 / double(std::max<std::size_t>(ready.size(), 1));

        for (const auto& pending : batch) {
            if (!pending.error.empty()) {
                writeError(pending);
                continue;
            }
            lines_.result(pending.image.item, pending.image.loaded.image, pending.prompt, pending.question, pending.result,
                          pending.image.loadMs, encodeMs, generateMs, batch.size());
            ++progress_.done;
            if (callbacks_.onRecord)
                callbacks_.onRecord({pending.image.item, pending.result.sequences.front().text, {}, pending.question,
                                     encodeMs + generateMs, &pending.image.loaded.image});
        }
        log_.sync();
        return true;
    }

    void reportProgress()
    {
        progress_.elapsedSeconds = secondsSince(start_);
        if (progress_.done > 0 && progress_.elapsedSeconds > 0) {
            progress_.imagesPerSecond = double(progress_.done) / progress_.elapsedSeconds;
            progress_.etaSeconds = double(progress_.total - progress_.done) / progress_.imagesPerSecond;
        }
        if (callbacks_.onProgress)
            callbacks_.onProgress(progress_);
    }

    const Model& model_;
    const BatchSettings& settings_;
    ResultsLog& log_;
    const BatchCallbacks& callbacks_;
    LineWriter lines_;
    Clock::time_point start_;
    BatchProgress progress_;
};

}  // namespace

namespace {

// "max_new_tokens 8 (this run: 9)" for each field of two objects that differs.
std::string differences(const json& earlier, const json& current)
{
    if (!earlier.is_object() || !current.is_object())
        return earlier.dump() + " (this run: " + current.dump() + ")";
    std::string text;
    auto valueText = [](const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); };
    for (const auto& [key, value] : current.items()) {
        const json before = earlier.value(key, json());
        if (before != value)
            text += (text.empty() ? "" : ", ") + key + " " + (before.is_null() ? "unset" : valueText(before)) +
                    " (this run: " + valueText(value) + ")";
    }
    return text;
}

}  // namespace

void checkResumable(const ResultsContent& existing, const std::string& path, const Model& model,
                    const BatchSettings& settings)
{
    const json current = {{"task", taskName(settings.task)},
                          {"model", modelJson(model.info())},
                          {"decoding", decodingJson(settings.decoding)}};
    for (const ResultLine& line : existing.lines) {
        if (line.error)
            continue;
        const json earlier = json::parse(line.json);
        for (const char* field : {"task", "model", "decoding"})
            if (earlier.value(field, json()) != current[field])
                throw Error("holds results made with another " + std::string(field) + ": " +
                                differences(earlier.value(field, json()), current[field]) +
                                ". One results file holds one run's results: use another results file, or the same "
                                "settings",
                            path);
        if (settings.task == BatchTask::Caption && earlier.value("prompt", std::string()) != captionPromptOf(model, settings))
            throw Error("holds captions made with the prompt \"" + earlier.value("prompt", std::string()) +
                            "\": use another results file, or the same prompt",
                        path);
        return;  // the first result speaks for the file: every run that added to it passed this check
    }
}

BatchSummary runBatch(const Model& model, const std::vector<DatasetItem>& todo, const BatchSettings& settings,
                      ResultsLog& log, const BatchCallbacks& callbacks)
{
    if (!model.info().canGenerate)
        throw Error(capabilitySummary(model.info()));
    generate::validate(settings.decoding);
    if (!callbacks.load)
        throw Error("no image loader given to the batch");
    return Runner(model, todo, settings, log, callbacks).run(todo);
}

}  // namespace querylens
