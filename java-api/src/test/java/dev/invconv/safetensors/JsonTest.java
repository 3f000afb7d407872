package dev.invconv.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {

    @Test
    void parsesAllValueKinds() throws Json.JsonException {
        Object value = Json.parse(" {\"a\": [1, -2, 3.5, 1e3, 12345678901234567890], \"b\": {\"c\": \"d\"},"
                + " \"t\": true, \"f\": false, \"n\": null, \"e\": {}, \"l\": []}   \n");
        Map<?, ?> map = (Map<?, ?>) value;
        assertEquals(List.of("a", "b", "t", "f", "n", "e", "l"), List.copyOf(map.keySet()), "keeps key order");
        assertEquals(List.of(1L, -2L, new BigDecimal("3.5"), new BigDecimal("1e3"), new BigDecimal("12345678901234567890")),
                map.get("a"));
        assertEquals(Map.of("c", "d"), map.get("b"));
        assertEquals(Boolean.TRUE, map.get("t"));
        assertEquals(Boolean.FALSE, map.get("f"));
        assertSame(Json.NULL, map.get("n"));
        assertEquals(Map.of(), map.get("e"));
        assertEquals(List.of(), map.get("l"));
    }

    @Test
    void decodesEscapes() throws Json.JsonException {
        assertEquals("q\"b\\s/\b\f\n\r\t\u00e9\ud83d\ude00", Json.parse("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\""));
        assertEquals("é", Json.parse("\"é\""), "raw UTF-8 text");
    }

    @Test
    void quoteRoundTrips() throws Json.JsonException {
        String text = "tab\t \"quoted\" back\\slash \u0001 ünïcode";
        assertEquals(text, Json.parse(Json.quote(text)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''                       | unexpected end of input, expected a value at offset 0",
        "'{\"a\":1,}'             | unexpected '}', expected a string key at offset 7",
        "'[1,]'                   | unexpected ']', expected a value at offset 3",
        "'{\"a\":01}'             | leading zero in a number at offset 6",
        "'{''a'':1}'              | unexpected ''', expected a string key at offset 1",
        "'{\"a\":1} x'            | unexpected 'x' after the value at offset 8",
        "'{\"a\":1}/* c */'       | unexpected '/' after the value at offset 7",
        "'{\"a\" 1}'              | unexpected '1', expected ':' at offset 5",
        "'\"abc'                  | unterminated string at offset 4",
        "'\"\\x\"'                | invalid escape \\x at offset 1",
        "'\"\\u12G4\"'            | invalid \\u escape at offset 3",
        "'[1.]'                   | expected a digit after the decimal point at offset 3",
        "'[-]'                    | expected a digit at offset 2",
        "'[1e]'                   | expected a digit in the exponent at offset 3",
        "'tru'                    | unexpected 't', expected a value at offset 0",
        "'{\"a\":1 \"b\":2}'      | unexpected '\"', expected ',' or '}' at offset 7",
    })
    void rejectsInvalidJson(String text, String message) {
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse(text));
        assertEquals(message, e.getMessage());
    }

    @Test
    void rejectsUnescapedControlCharacters() {
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse("\"a\nb\""));
        assertEquals("unescaped control character U+000A in a string at offset 2", e.getMessage());
    }

    @Test
    void reportsDuplicateKeysWithTheirDepth() {
        Json.JsonException top = assertThrows(Json.JsonException.class, () -> Json.parse("{\"w\":1,\"w\":2}"));
        assertEquals("w", top.duplicateKey);
        assertEquals(1, top.depth);
        Json.JsonException nested = assertThrows(Json.JsonException.class, () -> Json.parse("{\"a\":{\"x\":1,\"x\":1}}"));
        assertEquals("x", nested.duplicateKey);
        assertEquals(2, nested.depth);
    }

    @Test
    void refusesDeepNestingInsteadOfOverflowingTheStack() {
        String deep = "[".repeat(100_000);
        Json.JsonException e = assertThrows(Json.JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().startsWith("nesting deeper than 64"), e.getMessage());
    }
}
