package com.example.billing;

import java.util.List;
import java.util.Map;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
public class InvoiceController {

    private final JdbcTemplate jdbc;

    public InvoiceController(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    @GetMapping("/invoices")
    public List<Map<String, Object>> invoices() {
        return jdbc.queryForList("SELECT id, customer, total_cents FROM invoices ORDER BY id");
    }

    static long totalCents(List<Long> lines) {
        long total = 0;
        for (long line : lines) {
            if (line < 0) {
                throw new IllegalArgumentException("a line cannot be negative: " + line);
            }
            total = Math.addExact(total, line);
        }
        return total;
    }
}
