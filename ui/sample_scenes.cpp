#include "sample_scenes.h"

#include "querylens/demo_model.h"

#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QToolButton>

namespace querylens::ui {

QStringList sampleScenePaths()
{
    const QString folder = QString::fromStdString(bundledResourceFolder("demo-scenes"));
    if (folder.isEmpty())
        return {};
    QStringList paths;
    const QDir dir(folder);
    for (const QString& name : dir.entryList({QStringLiteral("*.png"), QStringLiteral("*.jpg")}, QDir::Files, QDir::Name))
        paths << dir.filePath(name);
    return paths;
}

SampleScenes::SampleScenes(QWidget* parent) : QWidget(parent), paths_(sampleScenePaths())
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 2);
    auto* label = new QLabel(tr("Try a sample scene\n(for the demo model):"), this);
    layout->addWidget(label);
    for (const QString& path : paths_) {
        auto* button = new QToolButton(this);
        button->setIcon(QIcon(path));
        button->setIconSize(QSize(64, 64));
        button->setAutoRaise(true);
        button->setToolTip(QFileInfo(path).fileName());
        button->setObjectName(QStringLiteral("sample-") + QFileInfo(path).baseName());
        connect(button, &QToolButton::clicked, this, [this, path] { emit chosen(path); });
        layout->addWidget(button);
    }
    layout->addStretch(1);
}

void SampleScenes::fillMenu(QMenu* menu)
{
    for (const QString& path : paths_)
        menu->addAction(QIcon(path), QFileInfo(path).baseName(), this, [this, path] { emit chosen(path); });
    menu->setEnabled(!paths_.isEmpty());
}

}  // namespace querylens::ui
