// Checkpoint folders as the Hub has them, made from the tiny-opt fixture: the late-2024 layout
// (an <image> token, resized embeddings, processor_config.json), half-precision files, and
// broken weights whose errors must name the file, the key and the shapes.

#include "fixtures.h"
#include "io/safetensors.h"
#include "io/weight_archive.h"
#include "querylens/error.h"
#include "querylens/model.h"
#include "querylens/session.h"

#include <ATen/ATen.h>
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

using namespace querylens;

namespace {

const std::string kEmbeddings = "language_model.model.decoder.embed_tokens.weight";

// Writes a copy of tiny-opt into `dir` with each tensor passed through `change` (which may
// return an undefined tensor to leave the weight out) and the config through `configure`.
void writeVariant(const QString& dir, const std::function<at::Tensor(const std::string&, at::Tensor)>& change,
                  const std::function<void(nlohmann::json&)>& configure = {})
{
    const std::string from = testsupport::fixturePath("tiny-opt");
    for (const char* file : {"vocab.json", "merges.txt"})
        QFile::copy(QString::fromStdString(from + "/" + file), dir + QLatin1Char('/') + QLatin1String(file));
    std::ifstream configIn(from + "/config.json");
    nlohmann::json config = nlohmann::json::parse(configIn);
    if (configure)
        configure(config);
    std::ofstream(QDir(dir).filePath(QStringLiteral("config.json")).toStdString()) << config.dump(2);

    const auto archive = io::WeightArchive::openFolder(from);
    std::vector<at::Tensor> keep;
    std::vector<io::TensorToWrite> tensors;
    for (const auto& name : archive.names()) {
        const auto* entry = archive.find(name);
        const at::Tensor stored = at::from_blob(const_cast<std::byte*>(entry->file->data(*entry->record)),
                                                entry->record->shape, at::kFloat);
        at::Tensor t = change(name, stored.clone());
        if (!t.defined())
            continue;
        t = t.contiguous();
        keep.push_back(t);
        const io::DType dtype = t.scalar_type() == at::kBFloat16 ? io::DType::BF16
                                : t.scalar_type() == at::kHalf   ? io::DType::F16
                                                                 : io::DType::F32;
        tensors.push_back({name, dtype, t.sizes().vec(), t.data_ptr()});
    }
    io::writeSafetensors(QDir(dir).filePath(QStringLiteral("model.safetensors")).toStdString(), tensors);
}

std::shared_ptr<const Model> load(const QString& dir, Precision precision = Precision::Float32)
{
    LoadOptions options;
    options.folder = dir.toStdString();
    options.precision = precision;
    options.threads = 1;
    return Model::load(options);
}

std::vector<int> greedyCaption(const Model& model, int tokens = 20)
{
    DecodingOptions options;
    options.maxNewTokens = tokens;
    return model.newSession(model.encode(testsupport::fixtureImage()))->caption(options).sequences.front().ids;
}

std::vector<int> goldenIds(const std::string& name)
{
    const auto wide = testsupport::goldenInts("tiny-opt", name);
    return std::vector<int>(wide.begin(), wide.end());
}

void expectError(const QString& dir, const std::vector<std::string>& fragments)
{
    try {
        load(dir);
        QFAIL("the broken checkpoint loaded");
    } catch (const Error& e) {
        for (const auto& fragment : fragments)
            QVERIFY2(std::string(e.what()).find(fragment) != std::string::npos, e.what());
    }
}

}  // namespace

class TestCheckpointLayouts : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void lateLayoutWithImageTokenLoads()
    {
        QTemporaryDir dir;
        // The late-2024 Hub layout: 8 more embedding rows (the <image> token and padding),
        // image_token_index, added_tokens.json and processor_config.json.
        writeVariant(dir.path(),
                     [](const std::string& name, at::Tensor t) {
                         return name == kEmbeddings ? at::cat({t, at::zeros({8, t.size(1)})}) : t;
                     },
                     [](nlohmann::json& config) { config["image_token_index"] = 1000; });
        std::ofstream(dir.filePath(QStringLiteral("added_tokens.json")).toStdString()) << R"({"<image>": 1000})";
        std::ofstream(dir.filePath(QStringLiteral("processor_config.json")).toStdString())
            << R"({"num_query_tokens": 32, "processor_class": "Blip2Processor"})";
        const auto model = load(dir.path());
        QCOMPARE(model->info().vocabSize, 1008);  // the embedding table's rows, not the tokenizer's
        QCOMPARE(greedyCaption(*model), goldenIds("greedy_ids"));
    }

    void processorConfigMustAgree()
    {
        QTemporaryDir dir;
        writeVariant(dir.path(), [](const std::string&, at::Tensor t) { return t; });
        std::ofstream(dir.filePath(QStringLiteral("processor_config.json")).toStdString()) << R"({"num_query_tokens": 16})";
        expectError(dir.path(), {"processor_config.json", "num_query_tokens"});
    }

    void halfPrecisionFilesLoad_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::newRow("bf16") << int(at::kBFloat16);
        QTest::newRow("f16") << int(at::kHalf);
    }
    void halfPrecisionFilesLoad()
    {
        QFETCH(int, dtype);
        QTemporaryDir dir;
        writeVariant(dir.path(), [&](const std::string&, at::Tensor t) { return t.to(at::ScalarType(dtype)); });
        const auto model = load(dir.path());
        const auto ids = greedyCaption(*model, 3);
        const auto golden = goldenIds("greedy_ids");
        // Rounded weights move the logits a little; the first tokens (gaps > 0.04) survive.
        QCOMPARE(ids.front(), golden.front());
    }

    void storedLmHeadAliasIsAccepted()
    {
        // Some checkpoints store the tied lm_head as well: same tensor, must load and agree.
        QTemporaryDir withAlias;
        writeVariant(withAlias.path(), [](const std::string&, at::Tensor t) { return t; });
        const auto archive = io::WeightArchive::openFolder(withAlias.path().toStdString());
        std::vector<io::TensorToWrite> tensors;
        for (const auto& name : archive.names()) {
            const auto* e = archive.find(name);
            tensors.push_back({name, io::DType::F32, e->record->shape, e->file->data(*e->record)});
            if (name == kEmbeddings)
                tensors.push_back({"language_model.lm_head.weight", io::DType::F32, e->record->shape, e->file->data(*e->record)});
        }
        const std::string path = withAlias.filePath(QStringLiteral("model2.safetensors")).toStdString();
        io::writeSafetensors(path, tensors);
        QFile::remove(withAlias.filePath(QStringLiteral("model.safetensors")));
        QFile::rename(QString::fromStdString(path), withAlias.filePath(QStringLiteral("model.safetensors")));
        QCOMPARE(greedyCaption(*load(withAlias.path())), goldenIds("greedy_ids"));
    }

    void wrongShapeNamesKeyAndShapes()
    {
        QTemporaryDir dir;
        const std::string key = "qformer.encoder.layer.1.attention.attention.query.weight";
        writeVariant(dir.path(), [&](const std::string& name, at::Tensor t) { return name == key ? t.narrow(0, 0, 32) : t; });
        expectError(dir.path(), {"model.safetensors", key, "expected [64, 64]", "found [32, 64]"});
    }

    void missingWeightNamesKey()
    {
        QTemporaryDir dir;
        const std::string key = "language_model.model.decoder.layers.1.fc2.weight";
        writeVariant(dir.path(), [&](const std::string& name, at::Tensor t) { return name == key ? at::Tensor() : t; });
        expectError(dir.path(), {key, "missing"});
    }

    void unknownWeightIsReported()
    {
        QTemporaryDir dir;
        writeVariant(dir.path(), [](const std::string&, at::Tensor t) { return t; });
        // An extra tensor no part of the model reads (a wrong architecture in config.json).
        const auto archive = io::WeightArchive::openFolder(dir.path().toStdString());
        std::vector<io::TensorToWrite> tensors;
        for (const auto& name : archive.names()) {
            const auto* e = archive.find(name);
            tensors.push_back({name, io::DType::F32, e->record->shape, e->file->data(*e->record)});
        }
        const float extra[2] = {1, 2};
        tensors.push_back({"language_model.model.decoder.layers.7.fc1.weight", io::DType::F32, {2}, extra});
        const std::string path = dir.filePath(QStringLiteral("next.safetensors")).toStdString();
        io::writeSafetensors(path, tensors);
        QFile::remove(dir.filePath(QStringLiteral("model.safetensors")));
        QFile::rename(QString::fromStdString(path), dir.filePath(QStringLiteral("model.safetensors")));
        expectError(dir.path(), {"layers.7.fc1.weight", "unexpected"});
    }

    void badConfigNamesTheFile()
    {
        QTemporaryDir dir;
        writeVariant(dir.path(), [](const std::string&, at::Tensor t) { return t; });
        std::ofstream(dir.filePath(QStringLiteral("config.json")).toStdString()) << "{\"model_type\": \"blip-2\", ";
        expectError(dir.path(), {"config.json"});
        std::ofstream(dir.filePath(QStringLiteral("config.json")).toStdString())
            << R"({"model_type": "blip-2", "text_config": {"model_type": "llama"}})";
        expectError(dir.path(), {"config.json", "text_config.model_type", "llama"});
        std::ofstream(dir.filePath(QStringLiteral("config.json")).toStdString())
            << R"({"model_type": "blip-2", "vision_config": {"hidden_size": "wide"}})";
        expectError(dir.path(), {"config.json", "vision_config.hidden_size"});
        // 2^32 + 16 is not taken for 16.
        std::ofstream(dir.filePath(QStringLiteral("config.json")).toStdString())
            << R"({"model_type": "blip-2", "vision_config": {"hidden_size": 4294967312}})";
        expectError(dir.path(), {"config.json", "vision_config.hidden_size", "fits in 32 bits"});
    }

    void reducedPrecisionsAgreeWithFloat32()
    {
        // bf16 and int8 weights: the accuracy cost against fp32 on the fixture, reported and bounded.
        const auto exact = load(QString::fromStdString(testsupport::fixturePath("tiny-opt")));
        const auto reference = greedyCaption(*exact);
        for (Precision precision : {Precision::BFloat16, Precision::Int8}) {
            const auto model = load(QString::fromStdString(testsupport::fixturePath("tiny-opt")), precision);
            const auto ids = greedyCaption(*model);
            int agree = 0;
            while (agree < int(ids.size()) && ids[std::size_t(agree)] == reference[std::size_t(agree)])
                ++agree;
            qInfo("%s: the first %d of 20 greedy tokens agree with fp32", precisionName(precision), agree);
            QVERIFY(agree >= 1);
            QVERIFY(model->info().weightBytes > 0);
        }
    }
};

QTEST_APPLESS_MAIN(TestCheckpointLayouts)
#include "test_checkpoint_layouts.moc"
