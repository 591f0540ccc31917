#include "mock_hub_process.h"

#include "fixtures.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

MockHub::MockHub(const QString& bigFile)
{
    QStringList arguments{scriptPath(), QString::fromStdString(testsupport::fixturePath(""))};
    if (!bigFile.isEmpty())
        arguments << QStringLiteral("--big-file") << bigFile;
    process_.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process_.start(QStringLiteral("/usr/bin/python3"), arguments);
    if (!process_.waitForStarted(10000))
        return;
    // The first line says where it listens: "HUB <port> CDN <port>".
    while (!process_.canReadLine())
        if (!process_.waitForReadyRead(60000))
            return;
    const QList<QByteArray> words = process_.readLine().trimmed().split(' ');
    if (words.size() == 4 && words[0] == "HUB" && words[2] == "CDN") {
        hubPort_ = words[1].toInt();
        cdnPort_ = words[3].toInt();
    }
}

MockHub::~MockHub()
{
    process_.closeWriteChannel();  // the mock exits at the end of its stdin
    if (!process_.waitForFinished(5000)) {
        process_.kill();
        process_.waitForFinished(5000);
    }
}

QString MockHub::scriptPath() { return QStringLiteral(QUERYLENS_MOCK_HUB); }

QString MockHub::endpoint() const { return QStringLiteral("http://127.0.0.1:%1").arg(hubPort_); }

QByteArray MockHub::command(const QJsonObject& command)
{
    process_.write(QJsonDocument(command).toJson(QJsonDocument::Compact) + '\n');
    while (!process_.canReadLine())
        if (!process_.waitForReadyRead(30000))
            return {};
    return process_.readLine().trimmed();
}

void MockHub::fault(const QString& name, QJsonObject parameters)
{
    parameters.insert(QStringLiteral("cmd"), QStringLiteral("fault"));
    parameters.insert(QStringLiteral("name"), name);
    const QByteArray answer = command(parameters);
    QVERIFY2(answer == "ok", answer.constData());
}

void MockHub::reset()
{
    const QByteArray answer = command({{QStringLiteral("cmd"), QStringLiteral("reset")}});
    QVERIFY2(answer == "ok", answer.constData());
}

QJsonObject MockHub::stats()
{
    return QJsonDocument::fromJson(command({{QStringLiteral("cmd"), QStringLiteral("stats")}})).object();
}

std::int64_t MockHub::bytesServed(const QString& repoPath)
{
    return stats().value(QStringLiteral("bytes")).toObject().value(repoPath).toInteger();
}

QJsonArray MockHub::requests() { return stats().value(QStringLiteral("requests")).toArray(); }
