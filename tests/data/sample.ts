import { EventEmitter } from "events";

export interface Shape {
  area(): number;
  readonly name: string;
}

export type Point = { x: number; y: number };

const ORIGIN: Point = { x: 0, y: 0 };

/**
 * Distance between two points.
 * @param a first point
 * @param b second point
 */
export function distance(a: Point, b: Point = ORIGIN): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export class Circle implements Shape {
  readonly name = "circle";

  constructor(private readonly center: Point, private radius: number) {}

  area(): number {
    return Math.PI * this.radius ** 2;
  }

  contains(p: Point): boolean {
    return distance(this.center, p) <= this.radius;
  }

  scale(factor: number): Circle {
    return new Circle(this.center, this.radius * factor);
  }
}

export abstract class Registry<T extends Shape> extends EventEmitter {
  protected items: T[] = [];

  abstract describe(item: T): string;

  add(item: T): void {
    this.items.push(item);
    this.emit("added", item); // ✨ notify listeners
  }

  totalArea(): number {
    return this.items.reduce((sum, s) => sum + s.area(), 0);
  }
}

export enum Color {
  Red = "红",
  Green = "绿",
}

export const largest = (shapes: Shape[]): Shape | undefined =>
  shapes.reduce<Shape | undefined>((best, s) => (!best || s.area() > best.area() ? s : best), undefined);
