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
  let best: Shape | undefined = undefined;
  for (const shape of shapes) {
    if (best === undefined || shape.area() > best.area()) {
      best = shape;
    }
  }
  return best;
}
