<?php
/**
 * Everything the connector declares in PHP's global scope carries its
 * prefix, as WordPress asks of plugins (WPCS's PrefixAllGlobals, which is
 * not available here): classes `GSW_`, functions `gsw_`, constants `GSW_`.
 */

namespace GSW\Sniffs\NamingConventions;

use PHP_CodeSniffer\Files\File;
use PHP_CodeSniffer\Sniffs\Sniff;

class PrefixSniff implements Sniff
{
    /** Tokens that declare something with a name. */
    public function register()
    {
        return [T_CLASS, T_INTERFACE, T_TRAIT, T_FUNCTION, T_CONST, T_STRING];
    }

    /** Checks one declaration (or one `define()` call). */
    public function process(File $phpcsFile, $stackPtr)
    {
        $tokens = $phpcsFile->getTokens();
        $code = $tokens[$stackPtr]['code'];
        if ($code === T_STRING) {
            $this->processDefine($phpcsFile, $stackPtr);
            return;
        }
        if ($code === T_FUNCTION || $code === T_CONST) {
            // Methods and class constants are inside their prefixed class.
            if ($phpcsFile->hasCondition($stackPtr, [T_CLASS, T_INTERFACE, T_TRAIT, T_ANON_CLASS, T_ENUM])) {
                return;
            }
        }
        if ($code === T_CONST) {
            $name = $phpcsFile->findNext(T_STRING, $stackPtr + 1);
            $name = $name === false ? null : $tokens[$name]['content'];
        } else {
            $name = $phpcsFile->getDeclarationName($stackPtr);
        }
        if ($name === null || $name === '') {
            return; // A closure.
        }
        $prefix = $code === T_FUNCTION ? 'gsw_' : 'GSW_';
        if (strpos($name, $prefix) !== 0) {
            $what = [T_FUNCTION => 'function', T_CONST => 'constant'][$code] ?? 'class';
            $phpcsFile->addError(
                'Global %s "%s" must be prefixed "%s"',
                $stackPtr,
                'Missing',
                [$what, $name, $prefix]
            );
        }
    }

    /** `define('NAME', …)` of a constant that is not WordPress's own. */
    private function processDefine(File $phpcsFile, $stackPtr)
    {
        $tokens = $phpcsFile->getTokens();
        if (strtolower($tokens[$stackPtr]['content']) !== 'define') {
            return;
        }
        $previous = $phpcsFile->findPrevious(\PHP_CodeSniffer\Util\Tokens::$emptyTokens, $stackPtr - 1, null, true);
        if ($previous !== false && in_array($tokens[$previous]['code'], [T_OBJECT_OPERATOR, T_DOUBLE_COLON, T_FUNCTION], true)) {
            return;
        }
        $open = $phpcsFile->findNext(\PHP_CodeSniffer\Util\Tokens::$emptyTokens, $stackPtr + 1, null, true);
        if ($open === false || $tokens[$open]['code'] !== T_OPEN_PARENTHESIS) {
            return;
        }
        $argument = $phpcsFile->findNext(\PHP_CodeSniffer\Util\Tokens::$emptyTokens, $open + 1, null, true);
        if ($argument === false || $tokens[$argument]['code'] !== T_CONSTANT_ENCAPSED_STRING) {
            return;
        }
        $name = trim($tokens[$argument]['content'], '\'"');
        // WordPress reads these from whoever loads it: they are its settings, not ours.
        if (in_array($name, $this->wordpressConstants, true)) {
            return;
        }
        if (strpos($name, 'GSW_') !== 0) {
            $phpcsFile->addError('Constant "%s" must be prefixed "GSW_"', $argument, 'MissingDefine', [$name]);
        }
    }

    /** Constants WordPress lets a loader define before it. */
    public $wordpressConstants = ['WP_USE_THEMES', 'FS_METHOD', 'WP_ADMIN', 'WP_INSTALLING', 'SHORTINIT', 'DOING_CRON'];
}
