package com.example.library;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A small library catalogue.
 */
public class Library {
    private static final int MAX_LOANS = 5;
    private final List<Book> books = new ArrayList<>();

    public Library() {
    }

    public void addBook(Book book) {
        books.add(book);
    }

    /**
     * Finds a book by its title.
     *
     * @param title the exact title
     * @return the book, if present
     */
    public Optional<Book> findByTitle(String title) {
        return books.stream().filter(b -> b.title().equals(title)).findFirst();
    }

    @Override
    public String toString() {
        return "Library with " + books.size() + " books 📚";
    }

    public boolean canBorrow(Member member) {
        return member.loans() < MAX_LOANS;
    }

    public record Book(String title, String author) {
    }

    public interface Member {
        int loans();

        String name();
    }

    enum Genre {
        FICTION, SCIENCE, 历史
    }
}
