#pragma once
// With QUERYLENS_SCREENSHOTS=DIR set, the GUI suites save what they show as DIR/NAME.png, so
// that people can look at the window (QWidget::grab() works on the offscreen platform).

#include <QDir>
#include <QWidget>
#include <QtTest>

inline void saveScreenshot(QWidget& widget, const QString& name)
{
    const QString dir = qEnvironmentVariable("QUERYLENS_SCREENSHOTS");
    if (dir.isEmpty())
        return;
    QDir().mkpath(dir);
    QVERIFY(widget.grab().save(dir + QLatin1Char('/') + name + QStringLiteral(".png")));
}
