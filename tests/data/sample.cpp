#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace geo {

constexpr double kPi = 3.14159265358979;

/// Base class for all shapes.
class Shape {
public:
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const { return "shape"; }
};

class Circle : public Shape {
public:
    explicit Circle(double r) : r_(r) {}

    double area() const override {
        return kPi * r_ * r_;
    }

    std::string name() const override;

private:
    double r_;
};

std::string Circle::name() const {
    return "circle ⚪";
}

template <typename T>
T clamp(T value, T lo, T hi) {
    return value < lo ? lo : (value > hi ? hi : value);
}

struct Stats {
    double total = 0;
    int count = 0;

    void add(double x) {
        total += x;
        ++count;
    }
};

}  // namespace geo

double total_area(const std::vector<std::unique_ptr<geo::Shape>>& shapes) {
    geo::Stats stats;
    for (const auto& s : shapes) stats.add(s->area());
    return stats.total;
}

int main() {
    std::vector<std::unique_ptr<geo::Shape>> shapes;
    shapes.push_back(std::make_unique<geo::Circle>(2.0));
    std::cout << "面积: " << total_area(shapes) << std::endl;
    return 0;
}
