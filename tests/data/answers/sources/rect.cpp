#include <algorithm>
#include <string>
#include <vector>

namespace geo {

/// An axis-aligned rectangle.
class Rect {
public:
    Rect(double x, double y, double w, double h) : x_(x), y_(y), w_(w), h_(h) {}

    double area() const { return w_ * h_; }

    bool contains(double px, double py) const {
        if (px < x_) return false;
        if (py < y_) return false;
        if (px > x_ + w_) return false;
        if (py > y_ + h_) return false;
        return true;
    }

    Rect intersect(const Rect& other) const {
        double left = std::max(x_, other.x_);
        double top = std::max(y_, other.y_);
        double right = std::min(x_ + w_, other.x_ + other.w_);
        double bottom = std::min(y_ + h_, other.y_ + other.h_);
        if (right <= left || bottom <= top) {
            return Rect(0, 0, 0, 0);
        }
        return Rect(left, top, right - left, bottom - top);
    }

private:
    double x_, y_, w_, h_;
};

double total_area(const std::vector<Rect>& rects) {
    double sum = 0;
    for (size_t i = 0; i < rects.size(); ++i) {
        sum += rects[i].area();
    }
    return sum;
}

}  // namespace geo
