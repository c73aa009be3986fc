package dev.boundarytrace.tests;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON reader for the tests (RFC 8259): Java has no JSON parser built
 * in. Objects become LinkedHashMap, arrays ArrayList, numbers Long (integers)
 * or Double, plus String, Boolean and null. Anything malformed throws.
 */
final class Json {
  private final String s;
  private int i;

  private Json(String s) {
    this.s = s;
  }

  static Object parse(String text) {
    Json p = new Json(text);
    p.ws();
    Object v = p.value();
    p.ws();
    if (p.i != text.length()) throw p.error("trailing characters");
    return v;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> obj(Object o) {
    if (!(o instanceof Map)) throw new AssertionError("not a JSON object: " + o);
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Object> arr(Object o) {
    if (!(o instanceof List)) throw new AssertionError("not a JSON array: " + o);
    return (List<Object>) o;
  }

  static long num(Object o) {
    if (!(o instanceof Long)) throw new AssertionError("not a JSON integer: " + o);
    return (Long) o;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("JSON: " + what + " at offset " + i);
  }

  private void ws() {
    while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
  }

  private Object value() {
    if (i >= s.length()) throw error("unexpected end");
    char c = s.charAt(i);
    switch (c) {
      case '{': return object();
      case '[': return array();
      case '"': return string();
      case 't': return literal("true", Boolean.TRUE);
      case 'f': return literal("false", Boolean.FALSE);
      case 'n': return literal("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        throw error("unexpected '" + c + "'");
    }
  }

  private Object literal(String word, Object v) {
    if (!s.startsWith(word, i)) throw error("bad literal");
    i += word.length();
    return v;
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    i++;
    ws();
    if (i < s.length() && s.charAt(i) == '}') {
      i++;
      return m;
    }
    for (;;) {
      ws();
      if (i >= s.length() || s.charAt(i) != '"') throw error("expected a key");
      String k = string();
      ws();
      if (i >= s.length() || s.charAt(i) != ':') throw error("expected ':'");
      i++;
      ws();
      if (m.containsKey(k)) throw error("duplicate key " + k);
      m.put(k, value());
      ws();
      if (i >= s.length()) throw error("unterminated object");
      char c = s.charAt(i++);
      if (c == '}') return m;
      if (c != ',') throw error("expected ',' or '}'");
    }
  }

  private List<Object> array() {
    List<Object> a = new ArrayList<>();
    i++;
    ws();
    if (i < s.length() && s.charAt(i) == ']') {
      i++;
      return a;
    }
    for (;;) {
      ws();
      a.add(value());
      ws();
      if (i >= s.length()) throw error("unterminated array");
      char c = s.charAt(i++);
      if (c == ']') return a;
      if (c != ',') throw error("expected ',' or ']'");
    }
  }

  private String string() {
    StringBuilder b = new StringBuilder();
    i++;
    for (;;) {
      if (i >= s.length()) throw error("unterminated string");
      char c = s.charAt(i++);
      if (c == '"') return b.toString();
      if (c < 0x20) throw error("control character in a string");
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (i >= s.length()) throw error("bad escape");
      char e = s.charAt(i++);
      switch (e) {
        case '"': b.append('"'); break;
        case '\\': b.append('\\'); break;
        case '/': b.append('/'); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'n': b.append('\n'); break;
        case 'r': b.append('\r'); break;
        case 't': b.append('\t'); break;
        case 'u':
          if (i + 4 > s.length()) throw error("bad \\u escape");
          b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
          i += 4;
          break;
        default: throw error("bad escape \\" + e);
      }
    }
  }

  private Object number() {
    int start = i;
    if (s.charAt(i) == '-') i++;
    if (i >= s.length()) throw error("bad number");
    if (s.charAt(i) == '0') {
      i++;
    } else if (s.charAt(i) >= '1' && s.charAt(i) <= '9') {
      while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
    } else {
      throw error("bad number");
    }
    boolean integer = true;
    if (i < s.length() && s.charAt(i) == '.') {
      integer = false;
      i++;
      int d = i;
      while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
      if (i == d) throw error("bad fraction");
    }
    if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
      integer = false;
      i++;
      if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
      int d = i;
      while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
      if (i == d) throw error("bad exponent");
    }
    String t = s.substring(start, i);
    return integer ? (Object) Long.parseLong(t) : (Object) Double.parseDouble(t);
  }
}
