package com.example.billing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class InvoiceControllerTest {

    @Test
    void addsLines() {
        assertThat(InvoiceController.totalCents(List.of(250L, 1000L))).isEqualTo(1250L);
    }

    @Test
    void rejectsNegativeLines() {
        assertThatThrownBy(() -> InvoiceController.totalCents(List.of(-1L)))
            .isInstanceOf(IllegalArgumentException.class);
    }
}
