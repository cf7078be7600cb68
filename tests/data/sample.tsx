import React, { useState } from "react";

type Todo = { id: number; title: string; done: boolean };

interface ListProps {
  todos: Todo[];
  onToggle: (id: number) => void;
}

/** Renders one row of the list. */
function TodoRow({ todo, onToggle }: { todo: Todo; onToggle: (id: number) => void }) {
  return (
    <li className={todo.done ? "done" : ""} onClick={() => onToggle(todo.id)}>
      {todo.done ? "✅" : "⬜"} {todo.title}
    </li>
  );
}

export function TodoList({ todos, onToggle }: ListProps) {
  const remaining = todos.filter((t) => !t.done).length;
  return (
    <section>
      <h2>待办事项 ({remaining})</h2>
      <ul>
        {todos.map((t) => (
          <TodoRow key={t.id} todo={t} onToggle={onToggle} />
        ))}
      </ul>
    </section>
  );
}

export class TodoStore {
  private todos: Todo[] = [];
  private nextId = 1;

  add(title: string): Todo {
    const todo = { id: this.nextId++, title, done: false };
    this.todos.push(todo);
    return todo;
  }

  toggle(id: number): void {
    this.todos = this.todos.map((t) => (t.id === id ? { ...t, done: !t.done } : t));
  }
}

export const App = () => {
  const [todos, setTodos] = useState<Todo[]>([]);
  const toggle = (id: number) =>
    setTodos((ts) => ts.map((t) => (t.id === id ? { ...t, done: !t.done } : t)));
  return <TodoList todos={todos} onToggle={toggle} />;
};
