#!/usr/bin/env python3
"""Function lengths in C++ sources by brace counting (comments and literals stripped).
Usage: fnlen.py [--max N] FILES...  prints functions longer than N lines (default: all, sorted)."""
import re, sys

def strip(src):
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i); j = n if j < 0 else j
            out.append(' ' * (j - i)); i = j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2); j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', src[i:j])); i = j
        elif src.startswith('R"', i) and (i == 0 or not (src[i-1].isalnum() or src[i-1] == '_')):
            m = re.match(r'R"([^(]*)\(', src[i:])
            end = src.find(')' + m.group(1) + '"', i)
            j = end + len(m.group(1)) + 2
            out.append('""' + re.sub(r'[^\n]', ' ', src[i+2:j])); i = j
        elif c in '"\'':
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == '\\' else 1
            out.append(c + re.sub(r'[^\n]', ' ', src[i+1:j]) + c); i = j + 1
        else:
            out.append(c); i += 1
    return ''.join(out)

def functions(path):
    src = strip(open(path, encoding='utf-8', errors='replace').read())
    stack, head_start, res = [], 0, []
    src_lines = src.split('\n')
    line = 1
    for i, c in enumerate(src):
        if c == '\n':
            line += 1
        elif c in ';':
            head_start = i + 1
        elif c == '{':
            head = src[head_start:i]
            h = ' '.join(head.split())
            in_func = any(k == 'func' for k, _, _ in stack)
            if re.search(r'\bnamespace\b', h) or h.startswith('extern "'):
                kind = 'ns'
            elif not in_func and re.search(r'\b(class|struct|union|enum)\b', h) and '(' not in h.split('{')[0].split(':')[0]:
                kind = 'class'
            elif (not in_func and ')' in h and not re.match(r'(if|for|while|switch|catch|do|else)\b', h)
                  and not re.search(r'=\s*\[', h) and not re.search(r'=\s*$', h)):
                kind = 'func'
            else:
                kind = 'block'
            name = ''
            if kind == 'func':
                m = re.search(r'([~\w:<>]+)\s*\(', h)
                name = m.group(1) if m else h[:60]
            stack.append((kind, line, name))
            head_start = i + 1
        elif c == '}':
            if stack:
                kind, start, name = stack.pop()
                if kind == 'func':
                    body = src_lines[start - 1:line]
                    code = sum(1 for l in body if l.strip())
                    res.append((line - start + 1, path, start, name, code))
            head_start = i + 1
    return res

args = sys.argv[1:]
limit = 0
if args and args[0] == '--max':
    limit = int(args[1]); args = args[2:]
all_ = []
for p in args:
    all_ += functions(p)
all_.sort(reverse=True)
bad = [f for f in all_ if f[0] > limit] if limit else all_
print(' lines  code  function')
for n, p, s, name, code in bad:
    print(f'{n:6d} {code:5d}  {p}:{s}  {name}')
sys.exit(1 if limit and bad else 0)
