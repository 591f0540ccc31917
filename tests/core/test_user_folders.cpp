// The per-user places (io/user_folders.h) as their users resolve them. In the cache folder
// ($XDG_CACHE_HOME, else ~/.cache): the image embeddings (a folder; $QUERYLENS_CACHE names it)
// and the kernel choice (a file; $QUERYLENS_KERNEL_CACHE names it). In the data folder
// ($XDG_DATA_HOME, else ~/.local/share): the sessions ($QUERYLENS_SESSIONS_DIR names them) and
// the installed demo model.

#include "model/kernels/kernel_calibration.h"
#include "querylens/demo_model.h"
#include "querylens/image_search.h"
#include "querylens/session_store.h"

#include <QtTest>

#include <functional>
#include <optional>

namespace {

using Location = std::function<std::string()>;

// Sets (or, given nullopt, unsets) an environment variable for one scope.
class ScopedVariable {
public:
    ScopedVariable(const char* name, const std::optional<QByteArray>& value)
        : name_(name), old_(qEnvironmentVariableIsSet(name) ? std::optional(qgetenv(name)) : std::nullopt)
    {
        value ? qputenv(name, *value) : qunsetenv(name);
    }
    ~ScopedVariable() { old_ ? qputenv(name_, *old_) : qunsetenv(name_); }
    ScopedVariable(const ScopedVariable&) = delete;
    ScopedVariable& operator=(const ScopedVariable&) = delete;

private:
    const char* name_;
    std::optional<QByteArray> old_;
};

}  // namespace

Q_DECLARE_METATYPE(Location)

class TestUserFolders : public QObject {
    Q_OBJECT
private slots:
    void cachePlaces_data()
    {
        QTest::addColumn<Location>("location");
        QTest::addColumn<QByteArray>("overrideVariable");
        QTest::addColumn<QByteArray>("overrideValue");  // empty: unset
        QTest::addColumn<QByteArray>("xdgCacheHome");   // empty: unset
        QTest::addColumn<QByteArray>("home");           // empty: unset
        QTest::addColumn<QString>("expected");

        const Location embeddings = [] { return querylens::EmbeddingCache::defaultFolder(); };
        const Location kernelChoice = [] { return querylens::model::kernels::defaultCalibrationFile(); };
        QTest::newRow("embeddings: own variable wins") << embeddings << QByteArray("QUERYLENS_CACHE")
            << QByteArray("/srv/emb") << QByteArray("/xdg") << QByteArray("/home/u") << "/srv/emb";
        QTest::newRow("embeddings: XDG cache") << embeddings << QByteArray("QUERYLENS_CACHE")
            << QByteArray() << QByteArray("/xdg") << QByteArray("/home/u") << "/xdg/querylens/embeddings";
        QTest::newRow("embeddings: home") << embeddings << QByteArray("QUERYLENS_CACHE")
            << QByteArray() << QByteArray() << QByteArray("/home/u") << "/home/u/.cache/querylens/embeddings";
        QTest::newRow("embeddings: no home") << embeddings << QByteArray("QUERYLENS_CACHE")
            << QByteArray() << QByteArray() << QByteArray() << "./.cache/querylens/embeddings";
        QTest::newRow("kernel choice: own variable wins") << kernelChoice << QByteArray("QUERYLENS_KERNEL_CACHE")
            << QByteArray("/srv/k.json") << QByteArray("/xdg") << QByteArray("/home/u") << "/srv/k.json";
        QTest::newRow("kernel choice: XDG cache") << kernelChoice << QByteArray("QUERYLENS_KERNEL_CACHE")
            << QByteArray() << QByteArray("/xdg") << QByteArray("/home/u") << "/xdg/querylens/kernel-choice.json";
        QTest::newRow("kernel choice: home") << kernelChoice << QByteArray("QUERYLENS_KERNEL_CACHE")
            << QByteArray() << QByteArray() << QByteArray("/home/u") << "/home/u/.cache/querylens/kernel-choice.json";
        // Each variable is its user's own: the embeddings' does not move the kernel choice.
        QTest::newRow("kernel choice: embeddings' variable ignored") << kernelChoice << QByteArray("QUERYLENS_CACHE")
            << QByteArray("/srv/emb") << QByteArray() << QByteArray("/home/u") << "/home/u/.cache/querylens/kernel-choice.json";
        QTest::newRow("embeddings: kernel choice's variable ignored") << embeddings << QByteArray("QUERYLENS_KERNEL_CACHE")
            << QByteArray("/srv/k.json") << QByteArray() << QByteArray("/home/u") << "/home/u/.cache/querylens/embeddings";
    }
    void cachePlaces()
    {
        QFETCH(Location, location);
        QFETCH(QByteArray, overrideVariable);
        QFETCH(QByteArray, overrideValue);
        QFETCH(QByteArray, xdgCacheHome);
        QFETCH(QByteArray, home);
        QFETCH(QString, expected);
        const auto valueOrUnset = [](const QByteArray& v) { return v.isEmpty() ? std::nullopt : std::optional(v); };
        // Both overrides unset first, then the row's own.
        const ScopedVariable embeddingsOwn("QUERYLENS_CACHE", std::nullopt);
        const ScopedVariable kernelOwn("QUERYLENS_KERNEL_CACHE", std::nullopt);
        const ScopedVariable own(overrideVariable.constData(), valueOrUnset(overrideValue));
        const ScopedVariable xdg("XDG_CACHE_HOME", valueOrUnset(xdgCacheHome));
        const ScopedVariable homeVariable("HOME", valueOrUnset(home));
        QCOMPARE(QString::fromStdString(location()), expected);
    }

    void dataPlaces_data()
    {
        QTest::addColumn<Location>("location");
        QTest::addColumn<QByteArray>("sessionsVariable");  // empty: unset
        QTest::addColumn<QByteArray>("xdgDataHome");       // empty: unset
        QTest::addColumn<QByteArray>("xdgCacheHome");      // empty: unset; never used for these
        QTest::addColumn<QByteArray>("home");              // empty: unset
        QTest::addColumn<QString>("expected");

        const Location sessions = [] { return querylens::SessionStore::defaultFolder(); };
        const Location demoModel = [] { return querylens::defaultDemoModelFolder(); };
        QTest::newRow("sessions: own variable wins") << sessions << QByteArray("/srv/s") << QByteArray("/data")
            << QByteArray("/xdg") << QByteArray("/home/u") << "/srv/s";
        QTest::newRow("sessions: XDG data") << sessions << QByteArray() << QByteArray("/data")
            << QByteArray("/xdg") << QByteArray("/home/u") << "/data/querylens/sessions";
        QTest::newRow("sessions: home") << sessions << QByteArray() << QByteArray()
            << QByteArray("/xdg") << QByteArray("/home/u") << "/home/u/.local/share/querylens/sessions";
        QTest::newRow("sessions: no home") << sessions << QByteArray() << QByteArray()
            << QByteArray() << QByteArray() << "./.local/share/querylens/sessions";
        QTest::newRow("demo model: XDG data") << demoModel << QByteArray() << QByteArray("/data")
            << QByteArray("/xdg") << QByteArray("/home/u") << "/data/querylens/demo-model";
        QTest::newRow("demo model: home") << demoModel << QByteArray() << QByteArray()
            << QByteArray("/xdg") << QByteArray("/home/u") << "/home/u/.local/share/querylens/demo-model";
        // The sessions' variable is theirs alone.
        QTest::newRow("demo model: sessions' variable ignored") << demoModel << QByteArray("/srv/s") << QByteArray()
            << QByteArray() << QByteArray("/home/u") << "/home/u/.local/share/querylens/demo-model";
    }
    void dataPlaces()
    {
        QFETCH(Location, location);
        QFETCH(QByteArray, sessionsVariable);
        QFETCH(QByteArray, xdgDataHome);
        QFETCH(QByteArray, xdgCacheHome);
        QFETCH(QByteArray, home);
        QFETCH(QString, expected);
        const auto valueOrUnset = [](const QByteArray& v) { return v.isEmpty() ? std::nullopt : std::optional(v); };
        const ScopedVariable own("QUERYLENS_SESSIONS_DIR", valueOrUnset(sessionsVariable));
        const ScopedVariable data("XDG_DATA_HOME", valueOrUnset(xdgDataHome));
        const ScopedVariable cache("XDG_CACHE_HOME", valueOrUnset(xdgCacheHome));
        const ScopedVariable homeVariable("HOME", valueOrUnset(home));
        QCOMPARE(QString::fromStdString(location()), expected);
    }

    // An empty variable counts as unset (a `QUERYLENS_CACHE= querylens search` keeps the default).
    void emptyVariablesCountAsUnset()
    {
        const ScopedVariable own("QUERYLENS_CACHE", QByteArray(""));
        const ScopedVariable xdg("XDG_CACHE_HOME", QByteArray(""));
        const ScopedVariable home("HOME", QByteArray("/home/u"));
        QCOMPARE(QString::fromStdString(querylens::EmbeddingCache::defaultFolder()), "/home/u/.cache/querylens/embeddings");
    }
};

QTEST_GUILESS_MAIN(TestUserFolders)
#include "test_user_folders.moc"
