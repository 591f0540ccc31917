#include "hub_test_tree.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QFile>

QByteArray fileBytes(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QString sha256Hex(const QByteArray& bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

QString gitBlobSha1Hex(const QByteArray& bytes)
{
    QCryptographicHash hash(QCryptographicHash::Sha1);
    hash.addData(QByteArray("blob ") + QByteArray::number(bytes.size()) + QByteArray(1, '\0'));
    hash.addData(bytes);
    return QString::fromLatin1(hash.result().toHex());
}

QStringList listTree(const QString& folder)
{
    QStringList entries;
    QDirIterator it(folder, QDir::Files | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext())
        entries << QDir(folder).relativeFilePath(it.next());
    entries.sort();
    return entries;
}
