#pragma once
// The current image, fitted to the space it has, with a hint to drop one when there is none.

#include <QImage>
#include <QPixmap>
#include <QWidget>

namespace querylens::ui {

class ImageView : public QWidget {
    Q_OBJECT
public:
    explicit ImageView(QWidget* parent = nullptr);

    void setImage(const QImage& image);
    void setPlaceholder(const QString& text);
    QSize sizeHint() const override { return {640, 480}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QImage image_;          // at most 2048 px a side: the screen never needs more
    QPixmap scaled_;        // image_ fitted to the current size, redone only when the size changes
    QString placeholder_;
};

}  // namespace querylens::ui
