export interface Shape {
  area(): number;
  perimeter(): number;
}

export class Circle implements Shape {
  constructor(private readonly radius: number) {}

  area(): number {
    return Math.PI * this.radius * this.radius;
  }

  perimeter(): number {
    return 2 * Math.PI * this.radius;
  }
}

export class Rect implements Shape {
  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {}

  area(): number {
    return this.width * this.height;
  }

  perimeter(): number {
    return 2 * (this.width + this.height);
  }
}

export function largest(shapes: Shape[]): Shape | undefined {
  if (shapes.length === 0) {
    return undefined;
  }
  let best = shapes[0];
  for (const shape of shapes.slice(1)) {
    if (shape.area() > best.area()) {
      best = shape;
    }
  }
  return best;
}
