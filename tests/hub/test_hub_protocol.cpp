// The Hub protocol's pure functions on answers as the Hub sends them and as a hostile server
// might: headers, Content-Range, Link pagination, Retry-After, tree pages, error codes, paths,
// file choice; and the cache's names and environment variables.

#include "hub/hub_protocol.h"
#include "querylens/hub_cache.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstdlib>

using namespace querylens::hub;
using namespace querylens::hub::protocol;

Q_DECLARE_METATYPE(std::string)

namespace {

std::string lfsEntry(const std::string& path, const std::string& sha, std::uint64_t size)
{
    return R"({"type":"file","oid":"1111111111111111111111111111111111111111","size":)" + std::to_string(size) +
           R"(,"path":")" + path + R"(","lfs":{"oid":")" + sha + R"(","size":)" + std::to_string(size) +
           R"(,"pointerSize":134}})";
}

std::string smallEntry(const std::string& path)
{
    return R"({"type":"file","oid":"2222222222222222222222222222222222222222","size":10,"path":")" + path + R"("})";
}

const std::string kSha = std::string(64, 'a');

std::vector<std::string> paths(const std::vector<PlannedFile>& files)
{
    std::vector<std::string> names;
    for (const auto& file : files)
        names.push_back(file.path);
    return names;
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnvironment {
public:
    ScopedEnvironment(const char* name, const char* value) : name_(name)
    {
        if (const char* old = std::getenv(name))
            old_ = old, hadOld_ = true;
        value ? ::setenv(name, value, 1) : ::unsetenv(name);
    }
    ~ScopedEnvironment() { hadOld_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }

private:
    const char* name_;
    std::string old_;
    bool hadOld_ = false;
};

}  // namespace

class TestHubProtocol : public QObject {
    Q_OBJECT

private slots:
    void headersAreBoundedAndCaseInsensitive()
    {
        Headers headers;
        QVERIFY(headers.addLine("HTTP/1.1 302 Found\r\n"));
        QVERIFY(headers.addLine("x-linked-etag: \"abc\"\r\n"));
        QVERIFY(headers.addLine("Location:   https://cdn.example/x  \r\n"));
        QVERIFY(headers.addLine("\r\n"));
        QCOMPARE(headers.get("X-Linked-Etag").value(), std::string("\"abc\""));
        QCOMPARE(headers.get("location").value(), std::string("https://cdn.example/x"));
        QVERIFY(!headers.get("ETag"));
        // A second status line (after 100 Continue) starts afresh.
        QVERIFY(headers.addLine("HTTP/1.1 200 OK\r\n"));
        QVERIFY(!headers.get("Location"));
        // 64 kB of headers at most: a hostile server cannot make us hold more.
        Headers flood;
        bool accepted = true;
        for (int i = 0; i < 2000 && accepted; ++i)
            accepted = flood.addLine("X-Padding: " + std::string(100, 'x') + "\r\n");
        QVERIFY(!accepted);
        QVERIFY(flood.bytes() <= kMaxHeaderBytes + 200);
    }

    void etagsAreNormalised_data()
    {
        QTest::addColumn<std::string>("raw");
        QTest::addColumn<std::string>("normalised");
        QTest::addColumn<bool>("blobName");
        QTest::newRow("quoted sha256") << std::string("\"" + kSha + "\"") << kSha << true;
        QTest::newRow("weak") << std::string("W/\"abc123\"") << std::string("abc123") << true;
        QTest::newRow("bare") << std::string("abc") << std::string("abc") << true;
        QTest::newRow("path in etag") << std::string("\"../../x\"") << std::string("../../x") << false;
        QTest::newRow("empty") << std::string("\"\"") << std::string() << false;
    }
    void etagsAreNormalised()
    {
        QFETCH(std::string, raw);
        QFETCH(std::string, normalised);
        QFETCH(bool, blobName);
        QCOMPARE(normalizeEtag(raw), normalised);
        QCOMPARE(isBlobName(normalizeEtag(raw)), blobName);
    }

    void contentRangeIsParsedStrictly_data()
    {
        QTest::addColumn<std::string>("value");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<qulonglong>("first");
        QTest::addColumn<qulonglong>("total");
        QTest::newRow("range of a total") << std::string("bytes 100-199/1000") << true << 100ULL << 1000ULL;
        QTest::newRow("unknown total") << std::string("bytes 0-9/*") << true << 0ULL << 0ULL;
        QTest::newRow("unsatisfied") << std::string("bytes */1000") << false << 0ULL << 0ULL;
        QTest::newRow("last before first") << std::string("bytes 200-100/1000") << false << 0ULL << 0ULL;
        QTest::newRow("past the total") << std::string("bytes 0-1000/1000") << false << 0ULL << 0ULL;
        QTest::newRow("negative") << std::string("bytes -5-10/100") << false << 0ULL << 0ULL;
        QTest::newRow("other unit") << std::string("items 0-1/2") << false << 0ULL << 0ULL;
        QTest::newRow("overflow") << std::string("bytes 0-99999999999999999999/1") << false << 0ULL << 0ULL;
    }
    void contentRangeIsParsedStrictly()
    {
        QFETCH(std::string, value);
        QFETCH(bool, valid);
        const auto range = parseContentRange(value);
        QCOMPARE(range.has_value(), valid);
        if (!valid)
            return;
        QFETCH(qulonglong, first);
        QFETCH(qulonglong, total);
        QCOMPARE(qulonglong(range->first), first);
        QCOMPARE(qulonglong(range->total.value_or(0)), total);
    }

    void linkHeaderGivesTheNextPage_data()
    {
        QTest::addColumn<std::string>("link");
        QTest::addColumn<std::string>("next");
        QTest::newRow("hub") << std::string("<https://huggingface.co/api/models/a/b/tree/c?cursor=xyz>; rel=\"next\"")
                             << std::string("https://huggingface.co/api/models/a/b/tree/c?cursor=xyz");
        QTest::newRow("prev and next") << std::string("</p?c=1>; rel=\"prev\", </p?c=3>; rel=\"next\"")
                                       << std::string("/p?c=3");
        QTest::newRow("unquoted, several rels") << std::string("</n>; title=x; rel=next last") << std::string("/n");
        QTest::newRow("only prev") << std::string("</p>; rel=\"prev\"") << std::string();
        QTest::newRow("garbage") << std::string("<<<;;rel") << std::string();
        QTest::newRow("empty target") << std::string("<>; rel=\"next\"") << std::string();
    }
    void linkHeaderGivesTheNextPage()
    {
        QFETCH(std::string, link);
        QFETCH(std::string, next);
        QCOMPARE(nextPageLink(link).value_or(""), next);
    }

    void retryAfterIsSecondsOrADate()
    {
        QCOMPARE(parseRetryAfter("3", 0).value(), 3.0);
        QCOMPARE(parseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", 784111777).value(), 3.0);  // 08:49:37 + 3
        QCOMPARE(parseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", 784111999).value(), 0.0);  // in the past
        QCOMPARE(parseRetryAfter("99999999999", 0).value(), 86400.0);                        // capped at a day
        QVERIFY(!parseRetryAfter("soon", 0));
        QVERIFY(!parseRetryAfter("-1", 0));
    }

    void repoPathsAreChecked_data()
    {
        QTest::addColumn<std::string>("path");
        QTest::addColumn<bool>("safe");
        QTest::newRow("top level") << std::string("model.safetensors") << true;
        QTest::newRow("nested") << std::string("onnx/model.onnx") << true;
        QTest::newRow("dot-dot") << std::string("../escape.json") << false;
        QTest::newRow("dot-dot inside") << std::string("a/../../b") << false;
        QTest::newRow("absolute") << std::string("/etc/passwd") << false;
        QTest::newRow("backslash") << std::string("..\\x") << false;
        QTest::newRow("empty segment") << std::string("a//b") << false;
        QTest::newRow("dot") << std::string("./a") << false;
        QTest::newRow("newline") << std::string("a\nb") << false;
        QTest::newRow("empty") << std::string() << false;
        QTest::newRow("too long") << std::string(2000, 'a') << false;
        QTest::newRow("file name past NAME_MAX") << "a/" + std::string(256, 'b') << false;
        QTest::newRow("file name at NAME_MAX") << "a/" + std::string(255, 'b') << true;
    }
    void repoPathsAreChecked()
    {
        QFETCH(std::string, path);
        QFETCH(bool, safe);
        QCOMPARE(isSafeRepoPath(path), safe);
    }

    void percentEncodingKeepsOrEncodesSlashes()
    {
        QCOMPARE(percentEncode("refs/pr/1", false), std::string("refs%2Fpr%2F1"));
        QCOMPARE(percentEncode("onnx/model 1.onnx", true), std::string("onnx/model%201.onnx"));
        QCOMPARE(percentEncode("a?b#c%", true), std::string("a%3Fb%23c%25"));
        QCOMPARE(percentEncode("ü", false), std::string("%C3%BC"));
    }

    void treePagesAreParsed()
    {
        const std::string body = "[" + smallEntry("config.json") + "," + lfsEntry("model.safetensors", kSha, 1234) +
                                 R"(,{"type":"directory","oid":"3333333333333333333333333333333333333333","size":0,"path":"onnx"}])";
        const auto entries = parseTreePage(body, "tree");
        QCOMPARE(entries.size(), std::size_t(2));
        QCOMPARE(entries[0].path, std::string("config.json"));
        QCOMPARE(entries[0].lfsOid, std::string());
        QCOMPARE(entries[1].lfsOid, kSha);
        QCOMPARE(entries[1].size, std::uint64_t(1234));
    }

    void hostileTreePagesAreRefused_data()
    {
        QTest::addColumn<std::string>("body");
        QTest::addColumn<std::string>("complaint");
        QTest::newRow("not JSON") << std::string("<html>") << std::string("not JSON");
        QTest::newRow("object") << std::string("{}") << std::string("not a JSON array");
        QTest::newRow("path traversal") << "[" + smallEntry("../../.bashrc") + "]" << std::string("unsafe path");
        QTest::newRow("absolute path") << "[" + smallEntry("/etc/passwd") + "]" << std::string("unsafe path");
        QTest::newRow("backslash") << "[" + smallEntry("..\\\\evil") + "]" << std::string("unsafe path");
        QTest::newRow("negative size") << std::string(R"([{"type":"file","oid":"2222222222222222222222222222222222222222","size":-1,"path":"a"}])")
                                       << std::string("'size'");
        QTest::newRow("string size") << std::string(R"([{"type":"file","oid":"2222222222222222222222222222222222222222","size":"1","path":"a"}])")
                                     << std::string("'size'");
        QTest::newRow("bad lfs oid") << "[" + lfsEntry("m.safetensors", "../../x", 5) + "]" << std::string("lfs.oid");
        QTest::newRow("bad git oid") << std::string(R"([{"type":"file","oid":"zz","size":1,"path":"a"}])")
                                     << std::string("git object id");
        QTest::newRow("missing path") << std::string(R"([{"type":"file","oid":"2222222222222222222222222222222222222222","size":1}])")
                                      << std::string("'path'");
    }
    void hostileTreePagesAreRefused()
    {
        QFETCH(std::string, body);
        QFETCH(std::string, complaint);
        try {
            parseTreePage(body, "https://hub/api/models/a/b/tree/c");
            QFAIL("accepted");
        } catch (const querylens::hub::HubError& e) {
            QCOMPARE(e.code(), HubErrorCode::Protocol);
            QVERIFY2(std::string(e.what()).find(complaint) != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("tree/c") != std::string::npos, e.what());  // names the source
        }
    }

    void revisionAndIndexAnswersAreChecked()
    {
        const std::string commit(40, 'b');
        QCOMPARE(parseRevisionCommit(R"({"id":"a/b","sha":")" + commit + R"("})", "r"), commit);
        QVERIFY_THROWS_EXCEPTION(HubError, parseRevisionCommit(R"({"sha":"main"})", "r"));
        QVERIFY_THROWS_EXCEPTION(HubError, parseRevisionCommit("[]", "r"));
        const auto shards = parseIndexShards(
            R"({"metadata":{},"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}})",
            "index");
        QCOMPARE(shards, (std::vector<std::string>{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
        QVERIFY_THROWS_EXCEPTION(HubError, parseIndexShards(R"({"weight_map":{"a":"../x.safetensors"}})", "index"));
        QVERIFY_THROWS_EXCEPTION(HubError, parseIndexShards(R"({"weight_map":{"a":"model.bin"}})", "index"));
        QVERIFY_THROWS_EXCEPTION(HubError, parseIndexShards(R"({"weight_map":[]})", "index"));
    }

    void errorsNameTheHubCode_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("code");
        QTest::addColumn<bool>("token");
        QTest::addColumn<int>("expected");
        QTest::addColumn<QString>("advice");
        QTest::newRow("gated, not logged in") << 401 << "GatedRepo" << false << int(HubErrorCode::GatedRepo) << "log in";
        QTest::newRow("gated, no access yet") << 403 << "GatedRepo" << true << int(HubErrorCode::GatedRepo) << "ask for access";
        QTest::newRow("repo not found") << 404 << "RepoNotFound" << false << int(HubErrorCode::RepoNotFound) << "HF_TOKEN";
        QTest::newRow("revision not found") << 404 << "RevisionNotFound" << false << int(HubErrorCode::RevisionNotFound) << "revision";
        QTest::newRow("entry not found") << 404 << "EntryNotFound" << false << int(HubErrorCode::EntryNotFound) << "not in this commit";
        QTest::newRow("bare 401") << 401 << "" << false << int(HubErrorCode::Unauthorized) << "set HF_TOKEN";
        QTest::newRow("bare 403") << 403 << "" << true << int(HubErrorCode::Unauthorized) << "permission";
        QTest::newRow("500 after retries") << 500 << "" << false << int(HubErrorCode::Network) << "try again later";
        QTest::newRow("teapot") << 418 << "" << false << int(HubErrorCode::Protocol) << "HTTP 418";
    }
    void errorsNameTheHubCode()
    {
        QFETCH(int, status);
        QFETCH(QString, code);
        QFETCH(bool, token);
        QFETCH(int, expected);
        QFETCH(QString, advice);
        Headers headers;
        if (!code.isEmpty())
            headers.addLine("X-Error-Code: " + code.toStdString());
        headers.addLine("X-Error-Message: server words");
        const HubError error = errorForResponse(status, headers, "Salesforce/blip2-opt-2.7b", "config.json", token);
        QCOMPARE(int(error.code()), expected);
        QCOMPARE(error.httpStatus(), status);
        const std::string text = error.what();
        QVERIFY2(text.find(advice.toStdString()) != std::string::npos, text.c_str());
        QVERIFY2(text.find("server words") != std::string::npos, text.c_str());
        QVERIFY2(text.find("config.json") != std::string::npos, text.c_str());
    }

    void filesAreChosenForBlip2()
    {
        std::vector<TreeEntry> tree;
        for (const char* path : {"config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json",
                                 "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                                 "spiece.model", "README.md", ".gitattributes", "pytorch_model.bin", "model.pt",
                                 "weights.pth", "tf_model.h5", "flax_model.msgpack", "model.ckpt",
                                 "model.safetensors.index.json", "model-00001-of-00002.safetensors",
                                 "model-00002-of-00002.safetensors", "adapter.safetensors", "onnx/model.onnx"})
            tree.push_back({"file", path, 10, std::string(40, '1'), "", 0});
        auto selection = selectFiles(tree, {});
        applyWeightRule(selection, std::vector<std::string>{"model-00001-of-00002.safetensors",
                                                            "model-00002-of-00002.safetensors"},
                        {});
        QCOMPARE(paths(selection.files),
                 (std::vector<std::string>{"config.json", "preprocessor_config.json", "processor_config.json",
                                           "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                           "vocab.json", "merges.txt", "spiece.model", "model.safetensors.index.json",
                                           "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
        std::map<std::string, std::string> reasons;
        for (const auto& skipped : selection.skipped)
            reasons[skipped.path] = skipped.reason;
        for (const char* pickle : {"pytorch_model.bin", "model.pt", "weights.pth", "tf_model.h5", "flax_model.msgpack",
                                   "model.ckpt"})
            QVERIFY2(reasons[pickle].find("never downloaded") != std::string::npos, pickle);
        QVERIFY(reasons["adapter.safetensors"].find("weight_map") != std::string::npos);
        QVERIFY(reasons["README.md"].find("--include") != std::string::npos);
        QCOMPARE(selection.skipped.size(), std::size_t(10));

        // --include adds files, but never a pickle.
        auto included = selectFiles(tree, {"README.md", "*.bin", "onnx/*"});
        const auto names = paths(included.files);
        QVERIFY(std::count(names.begin(), names.end(), "README.md") == 1);
        QVERIFY(std::find(names.begin(), names.end(), "onnx/model.onnx") != names.end());
        QVERIFY(std::find(names.begin(), names.end(), "pytorch_model.bin") == names.end());
    }

    void indexMustNameShardsTheCommitHas()
    {
        std::vector<TreeEntry> tree{{"file", "model-00001-of-00002.safetensors", 10, std::string(40, '1'), "", 0},
                                    {"file", "model.safetensors", 10, std::string(40, '1'), "", 0}};
        auto withIndex = selectFiles(tree, {});
        QVERIFY_THROWS_EXCEPTION(HubError, applyWeightRule(withIndex,
                                                           std::vector<std::string>{"model-00001-of-00002.safetensors",
                                                                                    "model-00002-of-00002.safetensors"},
                                                           {}));
        // Without an index, the weights are model.safetensors alone.
        auto withoutIndex = selectFiles(tree, {});
        applyWeightRule(withoutIndex, std::nullopt, {});
        QCOMPARE(paths(withoutIndex.files), std::vector<std::string>{"model.safetensors"});
    }

    void repoReferencesAreParsed_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("repo");
        QTest::addColumn<QString>("revision");
        QTest::newRow("plain") << "Salesforce/blip2-opt-2.7b" << "Salesforce/blip2-opt-2.7b" << "main";
        QTest::newRow("revision") << "Salesforce/blip2-opt-2.7b@refs/pr/3" << "Salesforce/blip2-opt-2.7b" << "refs/pr/3";
        QTest::newRow("no org") << "gpt2" << "gpt2" << "main";
        QTest::newRow("three parts") << "a/b/c" << "" << "";
        QTest::newRow("double dash") << "a--b/c" << "" << "";
        QTest::newRow("dot-dot") << "../etc" << "" << "";
        QTest::newRow("empty revision") << "a/b@" << "" << "";
        QTest::newRow("revision with ..") << "a/b@../../x" << "" << "";
        QTest::newRow("revision with space") << "a/b@x y" << "" << "";
        QTest::newRow("a path") << "/home/me/model" << "" << "";
    }
    void repoReferencesAreParsed()
    {
        QFETCH(QString, text);
        QFETCH(QString, repo);
        QFETCH(QString, revision);
        const auto ref = parseRepoRef(text.toStdString());
        QCOMPARE(ref.has_value(), !repo.isEmpty());
        if (!ref)
            return;
        QCOMPARE(QString::fromStdString(ref->repo), repo);
        QCOMPARE(QString::fromStdString(ref->revision), revision);
        QCOMPARE(repoFolderName(ref->repo), "models--" + repo.replace('/', QStringLiteral("--")).toStdString());
    }

    void cacheFolderFollowsHuggingFaceHubsVariables()
    {
        ScopedEnvironment home("HOME", "/home/u");
        ScopedEnvironment hubCache("HF_HUB_CACHE", nullptr);
        ScopedEnvironment legacy("HUGGINGFACE_HUB_CACHE", nullptr);
        ScopedEnvironment hfHome("HF_HOME", nullptr);
        ScopedEnvironment xdg("XDG_CACHE_HOME", nullptr);
        QCOMPARE(defaultCacheFolder(), std::string("/home/u/.cache/huggingface/hub"));
        ::setenv("XDG_CACHE_HOME", "/xdg", 1);
        QCOMPARE(defaultCacheFolder(), std::string("/xdg/huggingface/hub"));
        ::setenv("HF_HOME", "~/hf", 1);
        QCOMPARE(defaultCacheFolder(), std::string("/home/u/hf/hub"));
        ::setenv("HUGGINGFACE_HUB_CACHE", "$HOME/legacy", 1);
        QCOMPARE(defaultCacheFolder(), std::string("/home/u/legacy"));
        ::setenv("HF_HUB_CACHE", "/fast/${NO_SUCH_VARIABLE}/hub", 1);
        QCOMPARE(defaultCacheFolder(), std::string("/fast/${NO_SUCH_VARIABLE}/hub"));  // as os.path.expandvars
    }

    void offlineFlagsAreReadAsHuggingFaceHubReadsThem_data()
    {
        QTest::addColumn<QString>("hub");
        QTest::addColumn<QString>("transformers");
        QTest::addColumn<bool>("offline");
        QTest::newRow("unset") << QString() << QString() << false;
        QTest::newRow("1") << "1" << QString() << true;
        QTest::newRow("true, any case") << "True" << QString() << true;
        QTest::newRow("0") << "0" << QString() << false;
        QTest::newRow("transformers") << QString() << "yes" << true;
    }
    void offlineFlagsAreReadAsHuggingFaceHubReadsThem()
    {
        QFETCH(QString, hub);
        QFETCH(QString, transformers);
        QFETCH(bool, offline);
        const QByteArray h = hub.toUtf8(), t = transformers.toUtf8();
        ScopedEnvironment a("HF_HUB_OFFLINE", hub.isNull() ? nullptr : h.constData());
        ScopedEnvironment b("TRANSFORMERS_OFFLINE", transformers.isNull() ? nullptr : t.constData());
        QCOMPARE(offlineFromEnvironment(), offline);
    }

    void tokenComesFromTheEnvironmentOrTheLoginFile()
    {
        QTemporaryDir home;
        ScopedEnvironment hfHome("HF_HOME", home.path().toUtf8().constData());
        ScopedEnvironment tokenPath("HF_TOKEN_PATH", nullptr);
        ScopedEnvironment token("HF_TOKEN", nullptr);
        ScopedEnvironment legacy("HUGGING_FACE_HUB_TOKEN", nullptr);
        QCOMPARE(HubSettings::fromEnvironment().token, std::string());
        QFile file(home.filePath(QStringLiteral("token")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("hf_fromfile\n");
        file.close();
        QCOMPARE(HubSettings::fromEnvironment().token, std::string("hf_fromfile"));
        ::setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy", 1);
        QCOMPARE(HubSettings::fromEnvironment().token, std::string("hf_legacy"));
        ::setenv("HF_TOKEN", "hf_new", 1);
        QCOMPARE(HubSettings::fromEnvironment().token, std::string("hf_new"));
    }

    void sizesReadAsTheHubShowsThem()
    {
        QCOMPARE(formatSize(15'500'000'000ULL), std::string("15.5 GB"));
        QCOMPARE(formatSize(512'000'000ULL), std::string("512 MB"));
        QCOMPARE(formatSize(999), std::string("999 bytes"));
        IncompleteDownload download;
        download.bytesOnDisk = 6'100'000'000ULL;
        download.totalBytes = 15'500'000'000ULL;
        QCOMPARE(download.describe(), std::string("incomplete: 6.1 of 15.5 GB"));
    }
};

QTEST_GUILESS_MAIN(TestHubProtocol)
#include "test_hub_protocol.moc"
