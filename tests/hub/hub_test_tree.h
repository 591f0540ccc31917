#pragma once
// What the download tests check in a cache folder, computed independently of the client
// (Qt's hashes, not OpenSSL's): digests, file contents, and the folder's listing.

#include <QByteArray>
#include <QString>
#include <QStringList>

QByteArray fileBytes(const QString& path);
QString sha256Hex(const QByteArray& bytes);
QString gitBlobSha1Hex(const QByteArray& bytes);  // sha1("blob {size}\0" + bytes)
// Every file and symlink below `folder`, relative, sorted ("blobs/ab12...", "snapshots/.../config.json").
QStringList listTree(const QString& folder);
