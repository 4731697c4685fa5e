<?php
/**
 * A bundle manifest read exactly as `gsw_protocol::bundle::Manifest`
 * deserializes with serde_json, for the PHP bundle verifier (GSW_Bundle).
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

/**
 * Reads manifest JSON as strictly as serde_json with the manifest's derived
 * `Deserialize` (`deny_unknown_fields`): strict JSON, nothing after the
 * value, unknown and repeated fields refused, every type exact (UUID
 * strings, integers in u32, u64 or i64 range written without fraction or
 * exponent, the item kinds, `policy` an object or absent, `items` an array).
 * Like serde, a struct may also be written as an array of its fields in
 * order, and an item kind as `{"content": null}`. `json_decode` is not
 * used for the structure: it takes the last of repeated keys and reads
 * large integers as floats.
 */
final class GSW_Manifest
{
    /** serde_json's nesting limit. */
    private const MAX_DEPTH = 128;
    private const KINDS = ['content', 'theme', 'plugin', 'design', 'media', 'rollback'];
    private const U32_MAX = '4294967295';
    private const U64_MAX = '18446744073709551615';
    private const I64_MAX = '9223372036854775807';
    private const I64_MIN_ABS = '9223372036854775808';

    private string $json;
    private int $at = 0;

    private function __construct(string $json)
    {
        $this->json = $json;
    }

    /**
     * The manifest: `format`, `created_at`, `expires_at` as ints; `bundle_id`,
     * `site_id` as lower-case hyphenated UUIDs; `sequence` and each item's
     * `size` as decimal strings (u64 does not fit PHP's int); `policy`;
     * `items` of `kind`, `path`, `size`, `sha256`.
     *
     * @throws UnexpectedValueException saying what is wrong.
     */
    public static function read(string $json): array
    {
        $reader = new self($json);
        $value = $reader->value(0);
        $reader->space();
        if ($reader->at !== strlen($json)) {
            throw self::error("trailing characters at byte {$reader->at}");
        }
        $fields = self::fields($value, 'manifest', [
            'format' => true,
            'bundle_id' => true,
            'site_id' => true,
            'sequence' => true,
            'created_at' => true,
            'expires_at' => true,
            'policy' => false,
            'items' => true,
        ]);
        $items = $fields['items'];
        if ($items[0] !== 'array') {
            throw self::error('items: expected an array');
        }
        return [
            'format' => (int) self::unsigned($fields['format'], 'format', self::U32_MAX),
            'bundle_id' => self::uuid($fields['bundle_id'], 'bundle_id'),
            'site_id' => self::uuid($fields['site_id'], 'site_id'),
            'sequence' => self::unsigned($fields['sequence'], 'sequence', self::U64_MAX),
            'created_at' => self::signed($fields['created_at'], 'created_at'),
            'expires_at' => self::signed($fields['expires_at'], 'expires_at'),
            'policy' => self::policy($fields['policy'] ?? null),
            'items' => array_map([self::class, 'item'], $items[1]),
        ];
    }

    /**
     * A struct's fields by name, from an object (unknown and repeated names
     * refused) or an array of the values in order; `$required` says which
     * may be left out (serde's `default`). Absent ones are left out.
     */
    private static function fields(array $value, string $what, array $required): array
    {
        $fields = [];
        if ($value[0] === 'object') {
            foreach ($value[1] as [$name, $field]) {
                if (!array_key_exists($name, $required)) {
                    throw self::error("$what: unknown field " . json_encode($name));
                }
                if (array_key_exists($name, $fields)) {
                    throw self::error("$what: duplicate field `$name`");
                }
                $fields[$name] = $field;
            }
        } elseif ($value[0] === 'array') {
            $elements = $value[1];
            if (count($elements) > count($required)) {
                throw self::error("$what: more than " . count($required) . ' elements');
            }
            foreach (array_keys($required) as $i => $name) {
                if (!array_key_exists($i, $elements)) {
                    break;
                }
                $fields[$name] = $elements[$i];
            }
        } else {
            throw self::error("$what: expected an object");
        }
        foreach ($required as $name => $needed) {
            if ($needed && !array_key_exists($name, $fields)) {
                throw self::error("$what: missing field `$name`");
            }
        }
        return $fields;
    }

    private static function policy(?array $value): array
    {
        if ($value === null) {
            return ['unfiltered_html' => false];
        }
        $fields = self::fields($value, 'policy', ['unfiltered_html' => false]);
        $unfiltered = $fields['unfiltered_html'] ?? ['bool', false];
        if ($unfiltered[0] !== 'bool') {
            throw self::error('policy.unfiltered_html: expected a boolean');
        }
        return ['unfiltered_html' => $unfiltered[1]];
    }

    private static function item(array $value): array
    {
        $fields = self::fields($value, 'item', ['kind' => true, 'path' => true, 'size' => true, 'sha256' => true]);
        foreach (['path', 'sha256'] as $name) {
            if ($fields[$name][0] !== 'string') {
                throw self::error("item $name: expected a string");
            }
        }
        return [
            'kind' => self::kind($fields['kind']),
            'path' => $fields['path'][1],
            'size' => self::unsigned($fields['size'], 'item size', self::U64_MAX),
            'sha256' => $fields['sha256'][1],
        ];
    }

    /** An item kind: its name as a string, or (serde's enum form) `{"name": null}`. */
    private static function kind(array $value): string
    {
        if ($value[0] === 'object' && count($value[1]) === 1 && $value[1][0][1][0] === 'null') {
            $value = ['string', $value[1][0][0]];
        }
        if ($value[0] !== 'string' || !in_array($value[1], self::KINDS, true)) {
            throw self::error('item kind: expected one of ' . implode(', ', self::KINDS));
        }
        return $value[1];
    }

    /**
     * A UUID as the uuid crate parses one (hyphenated, simple, braced or
     * `urn:uuid:` in any case, hex digits of either case), lower-case and hyphenated.
     */
    public static function parse_uuid(string $text): ?string
    {
        $hyphenated = '/^([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})\z/';
        if (strlen($text) === 32 && preg_match('/^[0-9a-fA-F]{32}\z/', $text) === 1) {
            $hex = $text;
        } elseif (strlen($text) === 38 && $text[0] === '{' && $text[37] === '}' && preg_match($hyphenated, substr($text, 1, 36), $m) === 1) {
            $hex = implode('', array_slice($m, 1));
        } elseif (strlen($text) === 45 && strtolower(substr($text, 0, 9)) === 'urn:uuid:' && preg_match($hyphenated, substr($text, 9), $m) === 1) {
            $hex = implode('', array_slice($m, 1));
        } elseif (strlen($text) === 36 && preg_match($hyphenated, $text, $m) === 1) {
            $hex = implode('', array_slice($m, 1));
        } else {
            return null;
        }
        $hex = strtolower($hex);
        return substr($hex, 0, 8) . '-' . substr($hex, 8, 4) . '-' . substr($hex, 12, 4) . '-' . substr($hex, 16, 4) . '-' . substr($hex, 20);
    }

    private static function uuid(array $value, string $what): string
    {
        $uuid = $value[0] === 'string' ? self::parse_uuid($value[1]) : null;
        if ($uuid === null) {
            throw self::error("$what: expected a UUID string");
        }
        return $uuid;
    }

    /** serde_json's integer: the digits of a literal without fraction or exponent, and its sign. */
    private static function integer(array $value, string $what): array
    {
        if ($value[0] !== 'number' || preg_match('/^(-?)(0|[1-9][0-9]*)\z/', $value[1], $m) !== 1) {
            throw self::error("$what: expected an integer");
        }
        // serde_json reads -0 as a float.
        if ($m[1] === '-' && $m[2] === '0') {
            throw self::error("$what: expected an integer, not -0");
        }
        return [$m[1] === '-', $m[2]];
    }

    /** A non-negative integer up to `$max`, as decimal digits. */
    private static function unsigned(array $value, string $what, string $max): string
    {
        [$negative, $digits] = self::integer($value, $what);
        if ($negative || self::compare($digits, $max) > 0) {
            throw self::error("$what: out of range");
        }
        return $digits;
    }

    private static function signed(array $value, string $what): int
    {
        [$negative, $digits] = self::integer($value, $what);
        if (self::compare($digits, $negative ? self::I64_MIN_ABS : self::I64_MAX) > 0) {
            throw self::error("$what: out of range");
        }
        if ($digits === self::I64_MIN_ABS) {
            return PHP_INT_MIN;
        }
        return $negative ? -(int) $digits : (int) $digits;
    }

    /** Compares two non-negative decimal numbers written without leading zeros. */
    public static function compare(string $a, string $b): int
    {
        return strlen($a) <=> strlen($b) ?: strcmp($a, $b) <=> 0;
    }

    /** `a.saturating_add(b)` of two u64 as decimal digits. */
    public static function add_saturating(string $a, string $b): string
    {
        if (strlen($a) < 18 && strlen($b) < 18) {
            return (string) ((int) $a + (int) $b);
        }
        $sum = '';
        $carry = 0;
        for ($i = strlen($a) - 1, $j = strlen($b) - 1; $i >= 0 || $j >= 0 || $carry > 0; $i--, $j--) {
            $digit = $carry + ($i >= 0 ? (int) $a[$i] : 0) + ($j >= 0 ? (int) $b[$j] : 0);
            $sum = ($digit % 10) . $sum;
            $carry = intdiv($digit, 10);
        }
        return self::compare($sum, self::U64_MAX) > 0 ? self::U64_MAX : $sum;
    }

    /** `value as i64` of a u64 as decimal digits: above i64's range it wraps to a negative int, as Rust's cast does. */
    public static function wrapping_int(string $value): int
    {
        if (self::compare($value, self::I64_MAX) <= 0) {
            return (int) $value;
        }
        // 2^64 - value, digit by digit: at most 2^63.
        $two_64 = '18446744073709551616';
        $value = str_pad($value, strlen($two_64), '0', STR_PAD_LEFT);
        $difference = '';
        $borrow = 0;
        for ($i = strlen($two_64) - 1; $i >= 0; $i--) {
            $digit = (int) $two_64[$i] - (int) $value[$i] - $borrow;
            $borrow = $digit < 0 ? 1 : 0;
            $difference = ($digit + 10 * $borrow) . $difference;
        }
        $difference = ltrim($difference, '0');
        return $difference === self::I64_MIN_ABS ? PHP_INT_MIN : -(int) $difference;
    }

    // The JSON reader: values as [type, value], objects as lists of [name, value].

    private function value(int $depth): array
    {
        $this->space();
        if ($this->at >= strlen($this->json)) {
            throw self::error('EOF while parsing a value');
        }
        $char = $this->json[$this->at];
        if ($char === '{' || $char === '[') {
            if ($depth + 1 >= self::MAX_DEPTH) {
                throw self::error('recursion limit exceeded');
            }
            $this->at++;
            return $char === '{' ? $this->members($depth + 1) : $this->elements($depth + 1);
        }
        if ($char === '"') {
            return ['string', $this->string()];
        }
        foreach (['true' => ['bool', true], 'false' => ['bool', false], 'null' => ['null', null]] as $word => $value) {
            if (substr_compare($this->json, $word, $this->at, strlen($word)) === 0) {
                $this->at += strlen($word);
                return $value;
            }
        }
        if (preg_match('/-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/A', $this->json, $m, 0, $this->at) === 1) {
            $this->at += strlen($m[0]);
            return ['number', $m[0]];
        }
        throw self::error("expected a value at byte {$this->at}");
    }

    private function members(int $depth): array
    {
        $members = [];
        $this->space();
        if (($this->json[$this->at] ?? '') === '}') {
            $this->at++;
            return ['object', $members];
        }
        while (true) {
            $this->space();
            if (($this->json[$this->at] ?? '') !== '"') {
                throw self::error("expected a field name at byte {$this->at}");
            }
            $name = $this->string();
            $this->expect(':');
            $members[] = [$name, $this->value($depth)];
            if ($this->expect(',', '}') === '}') {
                return ['object', $members];
            }
        }
    }

    private function elements(int $depth): array
    {
        $elements = [];
        $this->space();
        if (($this->json[$this->at] ?? '') === ']') {
            $this->at++;
            return ['array', $elements];
        }
        while (true) {
            $elements[] = $this->value($depth);
            if ($this->expect(',', ']') === ']') {
                return ['array', $elements];
            }
        }
    }

    /** A string literal, decoded; escapes, UTF-8 and control characters checked by json_decode. */
    private function string(): string
    {
        if (preg_match('/"(?:[^"\\\\]++|\\\\.)*+"/As', $this->json, $m, 0, $this->at) !== 1) {
            throw self::error("unterminated string at byte {$this->at}");
        }
        $text = json_decode($m[0]);
        if (!is_string($text)) {
            throw self::error("invalid string at byte {$this->at}: " . json_last_error_msg());
        }
        $this->at += strlen($m[0]);
        return $text;
    }

    /** Skips white space and takes one of the characters given; returns it. */
    private function expect(string ...$chars): string
    {
        $this->space();
        $char = $this->json[$this->at] ?? '';
        if (!in_array($char, $chars, true)) {
            throw self::error('expected ' . implode(' or ', $chars) . " at byte {$this->at}");
        }
        $this->at++;
        return $char;
    }

    /** JSON's white space: space, tab, line feed, carriage return. */
    private function space(): void
    {
        $this->at += strspn($this->json, " \t\n\r", $this->at);
    }

    private static function error(string $why): UnexpectedValueException
    {
        return new UnexpectedValueException($why);
    }
}
