<?php
/**
 * A class lives in `class-<name>.php`, its name in lower case with hyphens
 * for underscores (`GSW_Content` in `class-gsw-content.php`), one class a
 * file, as WordPress names the files of its own classes.
 */

namespace GSW\Sniffs\Files;

use PHP_CodeSniffer\Files\File;
use PHP_CodeSniffer\Sniffs\Sniff;

class ClassFileNameSniff implements Sniff
{
    /** Class-like declarations. */
    public function register()
    {
        return [T_CLASS, T_INTERFACE, T_TRAIT];
    }

    /** Checks the file's name against the class it declares. */
    public function process(File $phpcsFile, $stackPtr)
    {
        $name = $phpcsFile->getDeclarationName($stackPtr);
        if ($name === null || $name === '') {
            return;
        }
        $expected = 'class-' . str_replace('_', '-', strtolower($name)) . '.php';
        $file = basename($phpcsFile->getFilename());
        if ($file !== $expected) {
            $phpcsFile->addError('%s belongs in a file named %s', $stackPtr, 'Mismatch', [$name, $expected]);
        }
        $tokens = $phpcsFile->getTokens();
        $another = $phpcsFile->findNext([T_CLASS, T_INTERFACE, T_TRAIT], $tokens[$stackPtr]['scope_closer'] ?? $stackPtr + 1);
        if ($another !== false) {
            $phpcsFile->addError('One class a file: %s has company', $stackPtr, 'Multiple', [$name]);
        }
    }
}
