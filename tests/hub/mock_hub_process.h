#pragma once
// The mock Hub (mock_hub.py) as a child process of a test: started with Debian's python3 on
// 127.0.0.1 with OS-chosen ports, driven by one JSON command a line on its stdin, and gone
// when the test ends (it exits when its stdin closes; the destructor also waits for it).

#include <QJsonObject>
#include <QProcess>
#include <QString>

#include <cstdint>

class MockHub {
public:
    // `bigFile`: an extra repository test/big whose model.safetensors is that file (throughput runs).
    explicit MockHub(const QString& bigFile = {});
    ~MockHub();

    bool started() const { return hubPort_ > 0; }
    QString endpoint() const;               // http://127.0.0.1:PORT
    int cdnPort() const { return cdnPort_; }

    // {"cmd": "fault", "name": name, ...parameters}: e.g. fault("cut", {{"path", "*/model.safetensors"}, {"bytes", 1000}})
    void fault(const QString& name, QJsonObject parameters = {});
    void reset();
    QJsonObject stats();
    // Bytes of `repoPath` ("test/tiny-opt/model.safetensors") served since the last reset.
    std::int64_t bytesServed(const QString& repoPath);
    // Requests seen since the last reset (each: server, method, path, range, status, time, authorization).
    QJsonArray requests();

    static QString scriptPath();

private:
    QByteArray command(const QJsonObject& command);

    QProcess process_;
    int hubPort_ = 0;
    int cdnPort_ = 0;
};
