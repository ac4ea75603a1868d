/**
 * Reading labelled sentiment files: the project's headlines from data/, and the Financial PhraseBank in place from
 * a folder the user gives, in both of its layouts. The PhraseBank itself is never read here (it is not in the repo):
 * each test writes a tiny fixture in its own temp folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { MalformedSentimentDataError, PhraseBankNotFoundError } from '../../core/errors/sentiment.ts'
import { parsePhraseBankCsv, readHeadlines, readPhraseBank, splitCsvLine } from './phrasebank.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-phrasebank-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const catching = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => null,
    (error: unknown) => error,
  )

test("the project's headlines are read from data/ with their day and asset", async () => {
  const items = await readHeadlines()
  expect(items.length).toBeGreaterThanOrEqual(80)
  expect(items[0]).toMatchObject({
    id: 'fh-001',
    date: expect.stringMatching(/^2026-/),
    asset: expect.any(String),
    text: expect.any(String),
    label: expect.stringMatching(/^(negative|neutral|positive)$/),
  })
})

describe('the original layout: Sentences_AllAgree.txt, latin-1, sentence@label', () => {
  const fixture = Buffer.concat([
    Buffer.from('Operating profit rose to EUR 13.1 mn from EUR 8.7 mn .@positive\r\n', 'latin1'),
    Buffer.from('The company is based in J\u00e4rvenp\u00e4\u00e4 , Finland .@neutral\r\n', 'latin1'),
    Buffer.from('Sales fell by 10 % @ home and abroad .@negative\r\n\r\n', 'latin1'),
  ])

  test('is read from the folder given, decoded from latin-1, the label after the last @', async () => {
    await writeFile(join(dir, 'Sentences_AllAgree.txt'), fixture)
    expect(await readPhraseBank({ dataDir: dir })).toEqual([
      { id: 'fpb-1', text: 'Operating profit rose to EUR 13.1 mn from EUR 8.7 mn .', label: 'positive' },
      { id: 'fpb-2', text: 'The company is based in J\u00e4rvenp\u00e4\u00e4 , Finland .', label: 'neutral' },
      { id: 'fpb-3', text: 'Sales fell by 10 % @ home and abroad .', label: 'negative' },
    ])
  })

  test('is also found in the unzipped FinancialPhraseBank-v1.0/ folder, for each agreement level', async () => {
    await mkdir(join(dir, 'FinancialPhraseBank-v1.0'))
    await writeFile(join(dir, 'FinancialPhraseBank-v1.0', 'Sentences_66Agree.txt'), fixture)
    expect(await readPhraseBank({ dataDir: dir, agreement: '66' })).toHaveLength(3)
    expect(await catching(readPhraseBank({ dataDir: dir }))).toBeInstanceOf(PhraseBankNotFoundError)
  })

  test('a line without a known label is refused with its number', async () => {
    await writeFile(join(dir, 'Sentences_AllAgree.txt'), 'Fine line .@neutral\nNo label here\n')
    expect(await catching(readPhraseBank({ dataDir: dir }))).toMatchObject({
      name: 'MalformedSentimentDataError',
      line: 2,
    })
    await writeFile(join(dir, 'Sentences_AllAgree.txt'), 'Fine line .@bullish\n')
    expect(await catching(readPhraseBank({ dataDir: dir }))).toMatchObject({
      name: 'MalformedSentimentDataError',
      line: 1,
      reason: expect.stringMatching(/bullish/),
    })
  })
})

describe('the CSV copy: fpb_allagree.csv, a header, index,sentence,label with 0/1/2', () => {
  test('is read with quoted sentences and numeric labels', async () => {
    await writeFile(
      join(dir, 'fpb_allagree.csv'),
      'label,sentence\r\n0,"Net sales doubled , while losses fell .",2\r\n1,"He said ""no"" to the offer .",1\r\n2,Profit fell .,0\r\n',
    )
    expect(await readPhraseBank({ dataDir: dir })).toEqual([
      { id: 'fpb-0', text: 'Net sales doubled , while losses fell .', label: 'positive' },
      { id: 'fpb-1', text: 'He said "no" to the offer .', label: 'neutral' },
      { id: 'fpb-2', text: 'Profit fell .', label: 'negative' },
    ])
  })

  test('malformed rows are refused with their line numbers', () => {
    const header = 'label,sentence\n'
    for (const [row, reason] of [
      ['0,"open quote,1', /unbalanced/],
      ['0,a,b,1', /4 fields/],
      ['0,text,7', /label "7"/],
      ['x,text,1', /row index/],
      ['0,"",1', /empty/],
    ] as const) {
      let error: unknown
      try {
        parsePhraseBankCsv(`${header}${row}\n`, 'f.csv')
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(MalformedSentimentDataError)
      expect(error).toMatchObject({ line: 2, source: 'f.csv', reason: expect.stringMatching(reason) })
    }
    expect(() => parsePhraseBankCsv(`${header}0,a,1\n0,b,2\n`)).toThrow(/used twice/)
  })

  test('splitCsvLine follows RFC 4180 quoting', () => {
    expect(splitCsvLine('a,"b,c","d""e",')).toEqual(['a', 'b,c', 'd"e', ''])
    expect(splitCsvLine('"open')).toBeNull()
  })
})

test('when the PhraseBank is not there, the error says where to get it and which flag to pass', async () => {
  const error = await catching(readPhraseBank({ dataDir: join(dir, 'missing') }))
  expect(error).toBeInstanceOf(PhraseBankNotFoundError)
  expect(error).toMatchObject({ name: 'PhraseBankNotFoundError', dataDir: join(dir, 'missing') })
  const message = (error as Error).message
  expect(message).toContain('--data-dir')
  expect(message).toMatch(/FinancialPhraseBank-v1\.0/)
  expect(message).toMatch(/CC BY-NC-SA/)
  expect(message).toContain(join(dir, 'missing', 'Sentences_AllAgree.txt'))
})
